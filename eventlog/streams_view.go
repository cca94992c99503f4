package eventlog

import (
	"bytes"
	"context"
	"errors"
	"strconv"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// streamView answers questions about streams at one committed count n:
// through stream.idx and streams.idx for the events they cover, and from
// the few committed events they do not cover yet (recent), read from the
// log. It is what readers and the writer share.
type streamView struct {
	ctx     context.Context // the call the view serves
	l       *EventLog
	files   logFiles
	n       uint64
	trusted uint64 // both stream files hold every event ≤ trusted
	slots   uint64 // stream.idx's level-0 size; 0 = its header is bad (nothing is read through it)
	recent  []recentEvent
}

// recentEvent is a committed event of a stream past the index's coverage.
type recentEvent struct {
	seq       uint64
	stream    string
	streamSeq uint64
}

// streamView returns a view of the committed log. When more than
// lookupScanMax events are not yet covered (a writer died before
// indexing them) it takes the writer lock to catch the index up first,
// as lookups do.
func (l *EventLog) streamView(ctx context.Context) (*streamView, error) {
	v, err := l.readStreamView(ctx, false)
	if err != nil || v.n-v.trusted <= lookupScanMax {
		return v, err
	}
	if err := l.repair(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		l.logger.Warn("could not catch the stream index up; reading the log instead", "path", l.dir, "err", err)
	}
	return l.readStreamView(ctx, true)
}

// readStreamView reads the headers and the uncovered events; with scanAll
// it reads them however many there are.
func (l *EventLog) readStreamView(ctx context.Context, scanAll bool) (*streamView, error) {
	files := l.current()
	n, err := files.seq.count()
	if err != nil {
		return nil, err
	}
	v := &streamView{ctx: ctx, l: l, files: files, n: n, trusted: n}
	for i, x := range files.streams.headers() {
		h, err := x.readHeader()
		if errors.Is(err, errBadIndexHeader) {
			v.trusted = 0
			continue
		}
		if err != nil {
			return nil, err
		}
		v.trusted = min(v.trusted, h.trusted(l.bootID))
		if i == 0 {
			v.slots = h.slots
		}
	}
	if v.slots == 0 {
		v.trusted = 0
	}
	if v.n-v.trusted > lookupScanMax && !scanAll {
		return v, nil
	}
	if err := v.scanRecent(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// writerStreamView is the writer's view: it holds the lock and has caught
// the index up to l.w.n.
func (l *EventLog) writerStreamView() *streamView {
	return &streamView{l: l, files: l.files, n: l.w.n, trusted: l.w.n, slots: l.w.streamHdr[0].slots}
}

// scanRecent reads the events in (trusted, n] that belong to streams.
func (v *streamView) scanRecent(ctx context.Context) error {
	if v.trusted >= v.n {
		return nil
	}
	return forEachRecord(ctx, v.files, v.trusted+1, v.n, func(seq uint64, rec []byte, off int64) error {
		ev, err := event.DecodeRecord(rec)
		if err != nil {
			return &store.CorruptionError{Path: v.files.log.Name(), Offset: off, Seq: seq, Err: err}
		}
		if ev.Stream != "" {
			v.recent = append(v.recent, recentEvent{seq: seq, stream: ev.Stream, streamSeq: ev.StreamSeq})
		}
		return nil
	})
}

// event decodes committed record seq.
func (v *streamView) event(seq uint64) (event.Event, error) {
	ev, _, err := v.l.decodeAt(v.ctx, v.files, seq)
	return ev, err
}

// seqOf returns the seq of version ver (≥ 1) of stream s, or ok false if
// the stream has no such version among the committed events.
func (v *streamView) seqOf(s string, ver uint64) (seq uint64, ok bool, err error) {
	return v.seqAfter(s, ver, 0)
}

// seqAfter is seqOf for a caller that knows the version's seq is after
// seq after (that of an earlier version).
func (v *streamView) seqAfter(s string, ver, after uint64) (seq uint64, ok bool, err error) {
	seq, _, ok, err = v.lookup(s, ver, after, v.n)
	return seq, ok, err
}

// lookup returns the seq of version ver of stream s if it lies in
// (after, maxSeq], and the record that confirmed it (nil for an event
// past the index's coverage, found among the recent ones): a caller that
// sends the record need not read it again. The record is read without
// the erase seqlock; a caller that keeps it reads under stableRead.
func (v *streamView) lookup(s string, ver, after, maxSeq uint64) (seq uint64, rec []byte, ok bool, err error) {
	for _, r := range v.recent {
		if r.stream == s && r.streamSeq == ver {
			if r.seq <= after || r.seq > maxSeq {
				return 0, nil, false, nil
			}
			return r.seq, nil, true, nil
		}
	}
	if v.slots == 0 {
		return 0, nil, false, nil
	}
	x := v.files.streams.idx
	ok, err = x.probeUp(v.slots, streamKey(s, ver), after+1, maxSeq, func(cand uint64) (bool, error) {
		r, is, err := v.holds(cand, s, ver)
		if is {
			seq, rec = cand, r
		}
		return is, err
	})
	return seq, rec, ok, err
}

// holds reports whether committed record seq is version ver of stream s,
// and returns the record (without its '\n' and padding).
// The stream members sort last in a record (JCS order: no member sorts
// after "streamSeq"), and a stream name needs no escaping, so a record
// that ends in ,"stream":"<s>","streamSeq":<ver>} is that event: one
// read, no decoding. Any other record is decoded and compared, so the
// answer holds whatever members a later version adds.
func (v *streamView) holds(seq uint64, s string, ver uint64) ([]byte, bool, error) {
	rec, _, err := readRecord(v.files, seq)
	if err != nil {
		return nil, false, err
	}
	var buf [event.MaxStreamBytes + 64]byte
	tail := append(buf[:0], `,"stream":"`...)
	tail = append(tail, s...)
	tail = append(tail, `","streamSeq":`...)
	tail = strconv.AppendUint(tail, ver, 10)
	tail = append(tail, '}')
	if bytes.HasSuffix(rec, tail) {
		return rec, true, nil
	}
	ev, err := event.DecodeRecord(rec)
	if err != nil {
		return nil, false, &store.CorruptionError{Path: v.files.log.Name(), Offset: -1, Seq: seq, Err: err}
	}
	return rec, ev.Stream == s && ev.StreamSeq == ver, nil
}

// version returns the version of stream s: the streamSeq of its last
// committed event, 0 if it has none. It gallops over stream.idx (every
// version up to the index's coverage is there), then counts the recent
// events: O(log version) lookups.
func (v *streamView) version(s string) (uint64, error) {
	var top uint64
	for _, r := range v.recent {
		if r.stream == s {
			top = max(top, r.streamSeq)
		}
	}
	if top > 0 {
		// Recent events come after every indexed one of the stream.
		return top, nil
	}
	lo, hi := uint64(0), uint64(1) // version lo exists (0 trivially), hi is to be tried
	var loSeq uint64               // the seq of version lo; later versions lie after it
	for {
		seq, ok, err := v.seqAfter(s, hi, loSeq)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi, loSeq = hi, hi*2, seq
	}
	for hi-lo > 1 { // lo exists, hi does not
		mid := lo + (hi-lo)/2
		seq, ok, err := v.seqAfter(s, mid, loSeq)
		if err != nil {
			return 0, err
		}
		if ok {
			lo, loSeq = mid, seq
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// streamName is a stream and the seq of its first event.
type streamName struct {
	name  string
	first uint64
}

// names returns every stream with a committed event, in the order they
// began: from streams.idx, then the recent events. It reads the record
// of a stream's first event only the first time this EventLog meets the
// stream (the names are kept, see nameCache): after that a listing costs
// one read of streams.idx and a map lookup per stream.
func (v *streamView) names() ([]streamName, error) {
	var out []streamName
	if v.trusted > 0 {
		firsts, err := v.files.streams.list.entries()
		if err != nil {
			return nil, err
		}
		for _, seq := range firsts {
			if seq == 0 || seq > v.trusted {
				break
			}
			name, ok := v.l.names.get(seq)
			if !ok {
				ev, err := v.event(seq)
				if err != nil {
					return nil, err
				}
				if ev.Stream == "" || ev.StreamSeq != 1 {
					return nil, &store.CorruptionError{Path: v.files.streams.list.path, Offset: -1, Seq: seq,
						Reason: "lists an event that does not begin a stream"}
				}
				name = ev.Stream
				v.l.names.put(seq, name)
			}
			out = append(out, streamName{name: name, first: seq})
		}
	}
	for _, r := range v.recent {
		if r.streamSeq == 1 {
			out = append(out, streamName{name: r.stream, first: r.seq})
		}
	}
	return out, nil
}

// probeUp is hashIndex.probe for stream lookups, which know a lower
// bound: it calls fn with the seqs in [minSeq, maxSeq] stored under key's
// prefix, oldest level first, from the level of minSeq up. A stream's
// next version lies after its last one, most often in the same level, so
// a read that walks a stream forward usually probes one level, not all.
func (x *hashIndex) probeUp(c uint64, key sum.Hash, minSeq, maxSeq uint64, fn func(seq uint64) (bool, error)) (bool, error) {
	if maxSeq == 0 || minSeq > maxSeq {
		return false, nil
	}
	minSeq = max(minSeq, 1)
	p := keyPrefix(key)
	var buf [windowSlots * indexSlotSize]byte
	for k := levelOf(minSeq, c); k <= levelOf(maxSeq, c); k++ {
		if ok, err := x.probeLevel(c, k, p, minSeq, maxSeq, buf[:], fn); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
