package eventlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"apie/event"
	"apie/sum"
)

// The stream index: stream.idx, a hash index from (stream, streamSeq) to
// seq built exactly like hash.idx, and streams.idx, the list of streams
// in the order they began (see doc.go). Both are derived from the log.

const (
	streamIdxName = "stream.idx"
	streamsName   = "streams.idx"

	kindStream  indexKind = 3 // stream.idx: key = SHA-256(stream, 0x00, streamSeq as 8 bytes LE)
	kindStreams indexKind = 4 // streams.idx: the list of streams

	streamsEntry = 8 // bytes of a streams.idx entry: the stream's first seq
)

// streamFiles are the open stream index files.
type streamFiles struct {
	idx  *hashIndex  // stream.idx
	list *streamList // streams.idx
}

// streamList is streams.idx: a header like hash.idx's (kind 4), then at
// byte 4096 + 8·(k−1) the seq of the first event of the k-th stream to
// begin. Entries only grow, in seq order.
type streamList struct {
	hashIndex // header handling and the file; its slot count is unused
}

// streamKey is the key of (stream, version) in stream.idx.
func streamKey(stream string, version uint64) sum.Hash {
	var buf [event.MaxStreamBytes + 9]byte
	b := append(buf[:0], stream...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint64(b, version)
	return sum.Of(b)
}

// openStreamFiles opens (creating if missing) the stream index files.
func (l *EventLog) openStreamFiles() (streamFiles, error) {
	fi, _, err := l.openFile(streamIdxName, true)
	if err != nil {
		return streamFiles{}, err
	}
	fl, _, err := l.openFile(streamsName, true)
	if err != nil {
		fi.Close()
		return streamFiles{}, err
	}
	return streamFiles{
		idx:  &hashIndex{path: l.path(streamIdxName), kind: kindStream, f: fi},
		list: &streamList{hashIndex{path: l.path(streamsName), kind: kindStreams, f: fl}},
	}, nil
}

func (s streamFiles) close() error {
	var errs []error
	if s.idx != nil {
		errs = append(errs, s.idx.f.Close())
	}
	if s.list != nil {
		errs = append(errs, s.list.f.Close())
	}
	return errors.Join(errs...)
}

// refreshStreamFilesLocked re-opens a stream index file that was deleted
// or replaced on disk; the catch-up that follows rebuilds it.
func (l *EventLog) refreshStreamFilesLocked(cur streamFiles) (streamFiles, []*os.File, error) {
	next := cur
	var old []*os.File
	for _, x := range []*hashIndex{cur.idx, &cur.list.hashIndex} {
		same, err := sameFile(x.f, x.path)
		if err != nil {
			return cur, nil, err
		}
		if same {
			continue
		}
		f, _, err := l.openFile(x.kind.String(), true)
		if err != nil {
			return cur, nil, err
		}
		l.logger.Warn("stream index was replaced or deleted; re-opened it", "path", x.path)
		if x.kind == kindStream {
			next.idx = &hashIndex{path: x.path, kind: x.kind, f: f}
		} else {
			next.list = &streamList{hashIndex{path: x.path, kind: x.kind, f: f}}
		}
		old = append(old, x.f)
	}
	return next, old, nil
}

// count returns the number of complete entries.
func (s *streamList) count() (uint64, error) {
	size, err := statSize(s.f)
	if err != nil {
		return 0, err
	}
	if size <= indexHeaderSize {
		return 0, nil
	}
	return uint64(size-indexHeaderSize) / streamsEntry, nil
}

// entries reads every complete entry: the first seqs of the streams.
func (s *streamList) entries() ([]uint64, error) {
	n, err := s.count()
	if err != nil || n == 0 {
		return nil, err
	}
	b := make([]byte, n*streamsEntry)
	if _, err := s.f.ReadAt(b, indexHeaderSize); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[i*streamsEntry:])
	}
	return out, nil
}

// add appends the first seq of a new stream, unless the last entry is
// already that seq or later (an insert a dead writer made: idempotent).
func (s *streamList) add(first uint64) error {
	n, err := s.count()
	if err != nil {
		return err
	}
	if n > 0 {
		var b [streamsEntry]byte
		if _, err := s.f.ReadAt(b[:], indexHeaderSize+int64(n-1)*streamsEntry); err != nil {
			return fmt.Errorf("read %s: %w", s.path, err)
		}
		if binary.LittleEndian.Uint64(b[:]) >= first {
			return nil
		}
	}
	var b [streamsEntry]byte
	binary.LittleEndian.PutUint64(b[:], first)
	if _, err := s.f.WriteAt(b[:], indexHeaderSize+int64(n)*streamsEntry); err != nil {
		return fmt.Errorf("append to %s: %w", s.path, err)
	}
	return nil
}

// cutAfter drops the trailing entries that are 0 or after seq trusted
// (and a partial entry), so the list holds exactly the streams begun at
// or before trusted.
func (s *streamList) cutAfter(trusted uint64) error {
	ents, err := s.entries()
	if err != nil {
		return err
	}
	k := len(ents)
	for k > 0 && (ents[k-1] == 0 || ents[k-1] > trusted) {
		k--
	}
	size, err := statSize(s.f)
	if err != nil {
		return err
	}
	want := int64(indexHeaderSize) + int64(k)*streamsEntry
	if size > want {
		if err := s.f.Truncate(want); err != nil {
			return fmt.Errorf("truncate %s: %w", s.path, err)
		}
	}
	return nil
}

// headers returns both stream files as hash indexes (for their headers).
func (s streamFiles) headers() [2]*hashIndex { return [2]*hashIndex{s.idx, &s.list.hashIndex} }

// catchUpStreamsLocked makes the stream index cover every committed
// event, as catchUpIndexesLocked does for hash.idx and id.idx: each file
// is trusted up to its header's trusted seq; a bad header (a deleted or
// damaged file) resets the file and rebuilds it from the log, with a log
// line. The caller holds the lock.
func (l *EventLog) catchUpStreamsLocked(ctx context.Context) error {
	sf := l.files.streams
	from, err := l.trustHeadersLocked(sf.headers(), &l.w.streamHdr, "stream index")
	if err != nil {
		return err
	}
	if err := sf.list.cutAfter(from[1]); err != nil {
		return err
	}
	err = l.reinsertLocked(ctx, min(from[0], from[1]), "stream index", func(seq uint64, ev event.Event) error {
		if ev.Stream == "" {
			return nil
		}
		if seq > from[0] {
			if err := sf.idx.insert(l.w.streamHdr[0].slots, streamKey(ev.Stream, ev.StreamSeq), seq); err != nil {
				return err
			}
		}
		if seq > from[1] && ev.StreamSeq == 1 {
			return sf.list.add(seq)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("catch up stream index: %w", err)
	}
	return l.setStreamsCoveredLocked(l.w.n)
}

// insertStreamsLocked indexes a committed group's events of streams.
func (l *EventLog) insertStreamsLocked(events []newEvent) error {
	sf := l.files.streams
	for _, ev := range events {
		if ev.stream == "" {
			continue
		}
		if err := sf.idx.insert(l.w.streamHdr[0].slots, streamKey(ev.stream, ev.streamSeq), ev.seq); err != nil {
			return err
		}
		if ev.streamSeq == 1 {
			if err := sf.list.add(ev.seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// setStreamsCoveredLocked records in both stream headers that every seq
// ≤ n is indexed.
func (l *EventLog) setStreamsCoveredLocked(n uint64) error {
	return l.writeCoveredLocked(l.files.streams.headers(), &l.w.streamHdr, n)
}

// checkpointStreamsLocked fsyncs both stream files and marks them synced
// up to what they cover.
func (l *EventLog) checkpointStreamsLocked() error {
	xs := l.files.streams.headers()
	for _, x := range xs {
		if err := x.f.Sync(); err != nil {
			return fmt.Errorf("checkpoint: sync %s: %w", x.path, err)
		}
	}
	for i, x := range xs {
		h, err := x.readHeader()
		if err != nil {
			return nil // the next writer rebuilds it
		}
		if h.bootID != l.bootID {
			continue
		}
		h.synced = h.covered
		if err := x.writeHeader(h); err != nil {
			return err
		}
		l.w.streamHdr[i] = h
	}
	return nil
}
