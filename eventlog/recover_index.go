package eventlog

import (
	"context"
	"errors"
	"fmt"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Keeping hash.idx and id.idx in step with seq.idx: catching up entries a
// dead writer did not insert, rebuilding a lost index, checkpoints.

// indexKeys returns the keys of an event in hash.idx and id.idx.
func indexKeys(hash sum.Hash, eventID string) [2]sum.Hash {
	var buf [64]byte // a UUID fits: no allocation (a plain conversion has 32 bytes of stack)
	return [2]sum.Hash{sum.Of(hash[:]), sum.Of(append(buf[:0], eventID...))}
}

// catchUpIndexesLocked makes both indexes cover every committed event
// (l.w.n): it trusts each index up to its header's trusted seq, rebuilds
// one whose header is unreadable, re-inserts the rest from the log, and
// records the new coverage in the headers. The caller holds the lock.
func (l *EventLog) catchUpIndexesLocked(ctx context.Context) error {
	files, n := l.files, l.w.n
	from, err := l.trustHeadersLocked(files.idx, &l.w.hdr, "index")
	if err != nil {
		return err
	}
	err = l.reinsertLocked(ctx, min(from[0], from[1]), "index", func(seq uint64, ev event.Event) error {
		keys := indexKeys(ev.Hash, ev.EventID)
		for i, x := range files.idx {
			if seq > from[i] {
				if err := x.insert(l.w.hdr[i].slots, keys[i], seq); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("catch up indexes: %w", err)
	}
	if err := l.catchUpStreamsLocked(ctx); err != nil {
		return err
	}
	return l.setCoveredLocked(n)
}

// trustHeadersLocked reads the headers of a pair of index files into
// hdr and returns, for each, the seq up to which it is trusted (at most
// l.w.n). A file whose header is unreadable (deleted or damaged) is reset
// to empty, trusted up to 0, with a warning that names kind. The caller
// holds the lock.
func (l *EventLog) trustHeadersLocked(xs [2]*hashIndex, hdr *[2]indexHeader, kind string) ([2]uint64, error) {
	n := l.w.n
	var from [2]uint64
	for i, x := range xs {
		h, err := x.readHeader()
		if errors.Is(err, errBadIndexHeader) {
			if size, serr := statSize(x.f); serr == nil && size > 0 || n > 0 {
				l.logger.Warn("rebuilding "+kind+" from the log", "path", x.path, "reason", err.Error(), "events", n)
			}
			if h, err = x.reset(l.slots, l.bootID); err != nil {
				return from, err
			}
		} else if err != nil {
			return from, err
		}
		from[i] = min(h.trusted(l.bootID), n)
		hdr[i] = h
	}
	return from, nil
}

// reinsertLocked decodes every committed record after seq lo, up to
// l.w.n, and hands it to insert; a record that does not decode is a
// corruption error. A long catch-up is logged, naming kind. The caller
// holds the lock.
func (l *EventLog) reinsertLocked(ctx context.Context, lo uint64, kind string, insert func(seq uint64, ev event.Event) error) error {
	files, n := l.files, l.w.n
	if lo >= n {
		return nil
	}
	err := forEachRecord(ctx, files, lo+1, n, func(seq uint64, rec []byte, off int64) error {
		ev, err := l.decodeRecovered(rec, off)
		if err != nil {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq, Err: err}
		}
		return insert(seq, ev)
	})
	if err != nil {
		return err
	}
	if n-lo > checkpointEvery {
		l.logger.Info("re-inserted "+kind+" entries from the log", "path", l.dir, "from_seq", lo+1, "to_seq", n)
	}
	return nil
}

// setCoveredLocked records in both headers that every seq ≤ n is inserted
// (written during this boot), and checkpoints when checkpointEvery events
// have gone without an fsync.
func (l *EventLog) setCoveredLocked(n uint64) error {
	if err := l.writeCoveredLocked(l.files.idx, &l.w.hdr, n); err != nil {
		return err
	}
	if err := l.setStreamsCoveredLocked(n); err != nil {
		return err
	}
	if n-min(l.w.hdr[0].synced, l.w.hdr[1].synced) >= checkpointEvery {
		return l.checkpointLocked()
	}
	return nil
}

// writeCoveredLocked records in the headers of a pair of index files,
// and in hdr, that every seq ≤ n is inserted during this boot; a header
// that says so already is not written again. The caller holds the lock.
func (l *EventLog) writeCoveredLocked(xs [2]*hashIndex, hdr *[2]indexHeader, n uint64) error {
	for i, x := range xs {
		h := hdr[i]
		if h.covered == n && h.bootID == l.bootID && h.synced <= n {
			continue
		}
		h.covered, h.bootID, h.synced = n, l.bootID, min(h.synced, n)
		if err := x.writeHeader(h); err != nil {
			return err
		}
		hdr[i] = h
	}
	return nil
}

// checkpointLocked fsyncs seq.idx and both indexes, then marks the
// indexes synced up to what they cover.
func (l *EventLog) checkpointLocked() error {
	files := l.files
	if err := files.seq.f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", files.seq.path, err)
	}
	for _, x := range files.idx {
		if err := x.f.Sync(); err != nil {
			return fmt.Errorf("checkpoint: sync %s: %w", x.path, err)
		}
	}
	for i, x := range files.idx {
		h := l.w.hdr[i]
		h.synced = h.covered
		if err := x.writeHeader(h); err != nil {
			return err
		}
		l.w.hdr[i] = h
	}
	return l.checkpointStreamsLocked()
}

// checkpointIfDirtyLocked checkpoints (see Checkpoint) when the indexes cover more
// than they have synced. It re-reads the headers: other processes may
// have appended since this one last wrote.
func (l *EventLog) checkpointIfDirtyLocked() error {
	dirty := false
	for i, x := range l.files.idx {
		h, err := x.readHeader()
		if err != nil {
			return nil // the next writer rebuilds it
		}
		if h.bootID != l.bootID {
			return nil // covered is not known to be true; the next writer catches up
		}
		l.w.hdr[i] = h
		dirty = dirty || h.synced < h.covered
	}
	if !dirty {
		return nil
	}
	return l.checkpointLocked()
}
