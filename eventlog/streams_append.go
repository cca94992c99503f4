package eventlog

import (
	"fmt"

	"apie/store"
)

// Appends to streams: the writer numbers each new event of a stream and
// checks expectedVersion, under the writer lock, against the stream's
// version as the index and the group's earlier requests left it.

// planStreams returns the streamSeq of each new draft of req (0 outside
// a stream), checking every expectedVersion against the stream's version
// just before that draft, the request's earlier new events counted. A
// mismatch is a *store.StreamVersionError and nothing is planned. On
// success the streams' new versions are recorded in out for the group's
// later requests.
func (l *EventLog) planStreams(req store.AppendRequest, src []int, out *groupOut) ([]uint64, error) {
	var seqs []uint64
	var mine map[string]uint64 // this request's streams: version after its events so far
	for i := range req.Drafts {
		d := &req.Drafts[i]
		if src[i] != srcFresh || d.Stream == "" {
			continue
		}
		if seqs == nil {
			seqs = make([]uint64, len(req.Drafts))
			mine = make(map[string]uint64)
		}
		cur, ok := mine[d.Stream]
		if !ok {
			var err error
			if cur, err = l.groupStreamVersion(d.Stream, out); err != nil {
				return nil, err
			}
		}
		if d.HasExpected && d.ExpectedVersion != cur {
			return nil, &store.StreamVersionError{Stream: d.Stream, Expected: d.ExpectedVersion, Current: cur}
		}
		seqs[i] = cur + 1
		mine[d.Stream] = cur + 1
	}
	if len(mine) > 0 {
		if out.streams == nil {
			out.streams = make(map[string]uint64)
		}
		for s, v := range mine {
			out.streams[s] = v
		}
	}
	return seqs, nil
}

// groupStreamVersion returns a stream's version as this group has left it
// so far: from the group's earlier requests, else from the index, which
// the writer has caught up to the committed head.
func (l *EventLog) groupStreamVersion(s string, out *groupOut) (uint64, error) {
	if v, ok := out.streams[s]; ok {
		return v, nil
	}
	view := l.writerStreamView()
	if v, ok := l.w.streamVer[s]; ok {
		// Versions only grow: the remembered one is still current unless
		// another process appended since, which one lookup tells.
		_, next, err := view.seqOf(s, v+1)
		if err != nil {
			return 0, fmt.Errorf("append: version of stream %s: %w", s, err)
		}
		if !next {
			return v, nil
		}
	}
	v, err := view.version(s)
	if err != nil {
		return 0, fmt.Errorf("append: version of stream %s: %w", s, err)
	}
	l.rememberStreamVersion(s, v)
	return v, nil
}

// streamVerMax bounds the versions a writer remembers.
const streamVerMax = 1 << 16

// rememberStreamVersion notes a stream's version, known to be committed.
// The caller holds wmu.
func (l *EventLog) rememberStreamVersion(s string, v uint64) {
	if l.w.streamVer == nil || len(l.w.streamVer) >= streamVerMax {
		l.w.streamVer = make(map[string]uint64)
	}
	l.w.streamVer[s] = v
}
