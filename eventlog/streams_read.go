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
// first, see streamView) and cost in proportion to what they return: a
// few index lookups per event, plus one record per stream for reads that
// take a prefix.

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
	release, err := l.use()
	if err != nil {
		return nil, err
	}
	defer release()
	v, err := l.streamView(ctx)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", q.Stream, err)
	}
	seqs, err := v.seqs(ctx, q)
	if err != nil {
		l.noteDamage(ctx, err)
		return nil, fmt.Errorf("read stream %s: %w", q.Stream, err)
	}
	return seqs, nil
}

// cursor walks one stream's versions in order.
type cursor struct {
	name string
	ver  uint64 // the next version
	top  uint64 // the stream's version
	seq  uint64 // the seq of version ver
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

// seqs merges the selected streams' events in log order.
func (v *streamView) seqs(ctx context.Context, q store.StreamQuery) ([]uint64, error) {
	last := q.Last
	if last == 0 || last > v.n {
		last = v.n
	}
	names := []string{q.Stream}
	if q.Recursive {
		all, err := v.names()
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, s := range all {
			if event.InStream(s.name, q.Stream) {
				names = append(names, s.name)
			}
		}
	}
	var h cursors
	for _, name := range names {
		c, err := v.cursor(name, q.After)
		if err != nil {
			return nil, err
		}
		if c != nil && c.seq <= last {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	var out []uint64
	for h.Len() > 0 && (q.Limit <= 0 || len(out) < q.Limit) {
		if len(out)%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		c := h[0]
		out = append(out, c.seq)
		if c.ver == c.top {
			heap.Pop(&h)
			continue
		}
		c.ver++
		seq, ok, err := v.seqAfter(c.name, c.ver, c.seq)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &store.CorruptionError{Path: v.files.streams.idx.path, Offset: -1,
				Reason: fmt.Sprintf("version %d of stream %s is not found through the index", c.ver, c.name)}
		}
		if seq > last {
			heap.Pop(&h)
			continue
		}
		c.seq = seq
		heap.Fix(&h, 0)
	}
	return out, nil
}

// cursor returns a cursor at the first event of stream name after seq
// after, or nil if there is none.
func (v *streamView) cursor(name string, after uint64) (*cursor, error) {
	top, err := v.version(name)
	if err != nil || top == 0 {
		return nil, err
	}
	ver := uint64(1)
	if after > 0 {
		if ver, err = v.firstAfter(name, top, after); err != nil {
			return nil, err
		}
	}
	if ver > top {
		return nil, nil
	}
	seq, ok, err := v.seqOf(name, ver)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &store.CorruptionError{Path: v.files.streams.idx.path, Offset: -1,
			Reason: fmt.Sprintf("version %d of stream %s is not found through the index", ver, name)}
	}
	return &cursor{name: name, ver: ver, top: top, seq: seq}, nil
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
