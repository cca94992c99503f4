package eventlog

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strings"

	"apie/event"
	"apie/store"
)

// Reads by stream. They take no lock (unless the index must be caught up
// first, see streamView) and cost in proportion to what they return: one
// index lookup per event (which reads the record it confirms, the record
// the reader sends), plus, for reads that take a prefix, a map lookup per
// stream (names are kept, see nameCache) and one lookup to end each
// stream that has events in the range.

// StreamHead returns the version of stream name and its first and last
// events; a stream with no events has version 0.
func (l *EventLog) StreamHead(ctx context.Context, name string) (store.StreamInfo, error) {
	release, err := l.use()
	if err != nil {
		return store.StreamInfo{}, err
	}
	defer release()
	v, err := l.streamView(ctx)
	if err != nil {
		return store.StreamInfo{}, fmt.Errorf("stream %s: %w", name, err)
	}
	info, err := v.info(name)
	if err != nil {
		l.noteDamage(ctx, err)
		return store.StreamInfo{}, fmt.Errorf("stream %s: %w", name, err)
	}
	return info, nil
}

// info describes stream name.
func (v *streamView) info(name string) (store.StreamInfo, error) {
	info := store.StreamInfo{Stream: name}
	ver, err := v.version(name)
	if err != nil || ver == 0 {
		return info, err
	}
	info.Version = ver
	for _, x := range []struct {
		ver  uint64
		seq  *uint64
		hash *[32]byte
	}{{1, &info.FirstSeq, (*[32]byte)(&info.First)}, {ver, &info.LastSeq, (*[32]byte)(&info.Last)}} {
		seq, ok, err := v.seqOf(name, x.ver)
		if err != nil {
			return info, err
		}
		if !ok {
			return info, &store.CorruptionError{Path: v.files.streams.idx.path, Offset: -1,
				Reason: fmt.Sprintf("version %d of stream %s is not found through the index", x.ver, name)}
		}
		ev, err := v.event(seq)
		if err != nil {
			return info, err
		}
		*x.seq, *x.hash = seq, ev.Hash
	}
	return info, nil
}

// StreamSeqs returns the seqs of the events q selects, in log order.
func (l *EventLog) StreamSeqs(ctx context.Context, q store.StreamQuery) ([]uint64, error) {
	seqs, _, err := l.StreamRead(ctx, q, 0)
	return seqs, err
}

// StreamRead returns the seqs of the events q selects, in log order, and
// the records of the first of them, as many as fit in budget bytes. The
// walk confirms each event by reading its record, so the records it keeps
// cost nothing more; the walk runs under the erase seqlock (stableRead),
// so a kept record is never one half overwritten.
func (l *EventLog) StreamRead(ctx context.Context, q store.StreamQuery, budget int) ([]uint64, [][]byte, error) {
	release, err := l.use()
	if err != nil {
		return nil, nil, err
	}
	defer release()
	v, err := l.streamView(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("read stream %s: %w", q.Stream, err)
	}
	var seqs []uint64
	var recs [][]byte
	err = l.stableRead(ctx, func() (err error) {
		seqs, recs, err = v.walk(ctx, q, budget)
		return err
	})
	if err != nil {
		l.noteDamage(ctx, err)
		return nil, nil, fmt.Errorf("read stream %s: %w", q.Stream, err)
	}
	return seqs, recs, nil
}

// cursor walks one stream's versions in order.
type cursor struct {
	name string
	ver  uint64 // the version at seq
	seq  uint64
	rec  []byte // record seq, if the lookup read it
}

// cursors is a min-heap of cursors by their next seq.
type cursors []*cursor

func (h cursors) Len() int           { return len(h) }
func (h cursors) Less(i, j int) bool { return h[i].seq < h[j].seq }
func (h cursors) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursors) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// walk merges the selected streams' events in log order: their seqs, and
// the records of the first ones while they fit in budget bytes. A stream
// is walked version by version until a version is not found up to the
// last seq asked for: one lookup per event returned and one per stream
// to end it, never the stream's version first.
func (v *streamView) walk(ctx context.Context, q store.StreamQuery, budget int) ([]uint64, [][]byte, error) {
	last := q.Last
	if last == 0 || last > v.n {
		last = v.n
	}
	var h cursors
	if q.Recursive {
		all, err := v.names()
		if err != nil {
			return nil, nil, err
		}
		for _, s := range all {
			if !event.InStream(s.name, q.Stream) {
				continue
			}
			c, err := v.cursor(s.name, s.first, q.After, last)
			if err != nil {
				return nil, nil, err
			}
			if c != nil {
				h = append(h, c)
			}
		}
	} else {
		first, rec, ok, err := v.lookup(q.Stream, 1, 0, v.n)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			c, err := v.cursor(q.Stream, first, q.After, last)
			if err != nil {
				return nil, nil, err
			}
			if c != nil {
				if c.ver == 1 {
					c.rec = rec
				}
				h = append(h, c)
			}
		}
	}
	heap.Init(&h)
	var seqs []uint64
	var recs [][]byte
	kept := 0
	for h.Len() > 0 && (q.Limit <= 0 || len(seqs) < q.Limit) {
		if len(seqs)%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		c := h[0]
		seqs = append(seqs, c.seq)
		if len(recs) == len(seqs)-1 {
			rec := c.rec
			if rec == nil {
				r, _, err := readRecord(v.files, c.seq)
				if err != nil {
					return nil, nil, err
				}
				rec = r
			}
			if kept+len(rec) <= budget {
				recs = append(recs, rec)
				kept += len(rec)
			}
		}
		if q.Limit > 0 && len(seqs) == q.Limit {
			break // the next version is not needed
		}
		seq, rec, ok, err := v.lookup(c.name, c.ver+1, c.seq, last)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			heap.Pop(&h)
			continue
		}
		c.ver, c.seq, c.rec = c.ver+1, seq, rec
		heap.Fix(&h, 0)
	}
	return seqs, recs, nil
}

// cursor returns a cursor at the first event of stream name (whose first
// event is seq first) in (after, last], or nil if there is none.
func (v *streamView) cursor(name string, first, after, last uint64) (*cursor, error) {
	if first > after {
		if first > last {
			return nil, nil
		}
		return &cursor{name: name, ver: 1, seq: first}, nil
	}
	ver, seq, rec, ok, err := v.firstAfter(name, first, after)
	if err != nil || !ok || seq > last {
		return nil, err
	}
	return &cursor{name: name, ver: ver, seq: seq, rec: rec}, nil
}

// firstAfter returns the lowest version of stream s with a seq after seq
// after, given that version 1 (at seq first) is not: it gallops (versions
// 2, 4, 8, … until one is after or absent), then bisects, O(log version)
// lookups. ok is false if no version is after.
func (v *streamView) firstAfter(s string, first, after uint64) (ver, seq uint64, rec []byte, ok bool, err error) {
	lo, loSeq := uint64(1), first // version lo is at or before after
	hi := uint64(2)
	for {
		seq, rec, ok, err = v.lookup(s, hi, loSeq, v.n)
		if err != nil {
			return 0, 0, nil, false, err
		}
		if !ok || seq > after {
			break
		}
		lo, loSeq, hi = hi, seq, hi*2
	}
	// Version lo is at or before after; version hi is after it, or absent
	// (then so is every later one). Versions in between are looked at.
	hiSeq, hiRec, hiOK := seq, rec, ok
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		seq, rec, ok, err := v.lookup(s, mid, loSeq, v.n)
		if err != nil {
			return 0, 0, nil, false, err
		}
		if ok && seq <= after {
			lo, loSeq = mid, seq
		} else {
			hi, hiSeq, hiRec, hiOK = mid, seq, rec, ok
		}
	}
	return hi, hiSeq, hiRec, hiOK, nil
}

// ListStreams returns the streams named prefix or below it, by name,
// after the name after, at most limit of them (0: all).
func (l *EventLog) ListStreams(ctx context.Context, prefix, after string, limit int) ([]store.StreamInfo, error) {
	release, err := l.use()
	if err != nil {
		return nil, err
	}
	defer release()
	v, err := l.streamView(ctx)
	if err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	all, err := v.names()
	if err != nil {
		l.noteDamage(ctx, err)
		return nil, fmt.Errorf("list streams: %w", err)
	}
	var names []string
	for _, s := range all {
		if (prefix == "" || event.InStream(s.name, prefix)) && strings.Compare(s.name, after) > 0 {
			names = append(names, s.name)
		}
	}
	slices.Sort(names)
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]store.StreamInfo, 0, len(names))
	for _, name := range names {
		info, err := v.info(name)
		if err != nil {
			l.noteDamage(ctx, err)
			return nil, fmt.Errorf("list streams: %w", err)
		}
		out = append(out, info)
	}
	return out, nil
}
