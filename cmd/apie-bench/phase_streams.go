package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"apie/event"
	"apie/eventlog"
	"apie/store"
)

// The streams phase, through the eventlog package in this process (no
// HTTP: it measures the store's own cost, which is what a stream read adds
// to a request). Its big log is written directly, in batches, not over
// HTTP: sz.events events in sz.events/100 streams of 100 events each,
// interleaved round-robin, so each stream's events are spread over the
// whole log (the worst case for locality).

// streamsPerBig is the events per stream in the big log.
const streamsPerBig = 100

func streamName(i int) string { return "/bench/" + strconv.Itoa(i) }

// streams runs the phase.
func (b *bench) streams(ctx context.Context) error {
	dir := filepath.Join(b.work, "streams")
	big, built, err := b.buildStreamLog(ctx, filepath.Join(dir, "big"))
	if err != nil {
		return err
	}
	defer big.Close()
	nStreams := b.sz.events / streamsPerBig
	b.rep.add(fmt.Sprintf("streams: write the %s-event log directly (%s streams of %d, interleaved; batches of %s)",
		group(int64(b.sz.events)), group(int64(nStreams)), streamsPerBig, group(int64(b.sz.batch))),
		fmt.Sprintf("%s in %s", fmtRate(perSec(float64(b.sz.events), built), "events"), fmtDur(built)), "", "")

	small, err := eventlog.OpenEventLog(ctx, eventlog.LogOptions{Dir: filepath.Join(dir, "small")})
	if err != nil {
		return err
	}
	defer small.Close()
	var drafts []event.Draft
	for i := range streamsPerBig {
		d := benchDraft(i)
		d.Stream = "/small"
		drafts = append(drafts, d)
	}
	if _, err := small.Append(ctx, store.AppendRequest{Drafts: drafts, CreatedBy: "bench"}); err != nil {
		return err
	}

	// Read a 100-event stream of the big log, a 100-event stream of a
	// 100-event log, and a 100-event log with a plain range read.
	readStream := func(l *eventlog.EventLog, name string) error {
		return readStreamRecords(ctx, l, store.StreamQuery{Stream: name}, streamsPerBig)
	}
	ss, err := timeInterleaved(ctx, 3, b.sz.lookupN, b.sz.budget,
		func(i int) error { return readStream(big, streamName((i*7919)%nStreams)) },
		func(int) error { return readStream(small, "/small") },
		func(int) error {
			r, err := small.Reader(ctx, 1, streamsPerBig)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, r)
			r.Close()
			return err
		})
	if err != nil {
		return err
	}
	bigRead, smallStream, smallLog := ss[0].p50(), ss[1].p50(), ss[2].p50()
	b.rep.add(fmt.Sprintf("streams: read a %d-event stream of the %s-event log, p50", streamsPerBig, group(int64(b.sz.events))),
		fmtDur(bigRead), fmtDur(smallLog)+" (a 100-event log, range read)", fmtRatio(float64(bigRead)/float64(smallLog)))
	b.rep.add(fmt.Sprintf("streams: read a %d-event stream of a 100-event log, p50", streamsPerBig),
		fmtDur(smallStream), fmtDur(bigRead)+" (the same read in the big log)", fmtRatio(float64(bigRead)/float64(smallStream)))

	// One client appending to a stream of the big log, with and without
	// expectedVersion, interleaved.
	version := uint64(streamsPerBig)
	ss, err = timeInterleaved(ctx, 3, b.sz.appendN/4, b.sz.budget,
		func(i int) error {
			d := benchDraft(i)
			d.Stream, d.HasExpected, d.ExpectedVersion = streamName(0), true, version
			_, err := big.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: "bench"})
			version++
			return err
		},
		func(i int) error {
			_, err := big.Append(ctx, store.AppendRequest{Drafts: []event.Draft{benchDraft(i)}, CreatedBy: "bench"})
			return err
		})
	if err != nil {
		return err
	}
	b.rep.add("streams: append with expectedVersion, 1 client, p50 (big log)",
		fmtDur(ss[0].p50()), fmtDur(ss[1].p50())+" (plain append)", fmtRatio(float64(ss[0].p50())/float64(ss[1].p50())))

	if err := b.streamsRecursive(ctx, filepath.Join(dir, "recursive")); err != nil {
		return err
	}
	if err := b.streamsApart(ctx, filepath.Join(dir, "apart")); err != nil {
		return err
	}
	return b.streamIndexSize(dir+"/big", b.sz.events)
}

// readStreamRecords reads what q selects as GET /events?stream= does
// (the records the walk kept, the rest one by one) and checks it got want
// events.
func readStreamRecords(ctx context.Context, l *eventlog.EventLog, q store.StreamQuery, want int) error {
	seqs, recs, err := l.StreamRead(ctx, q, 4<<20)
	if err != nil {
		return err
	}
	if len(seqs) != want {
		return fmt.Errorf("stream %s: %d events, want %d", q.Stream, len(seqs), want)
	}
	for _, seq := range seqs[len(recs):] {
		if _, err := l.Record(ctx, seq); err != nil {
			return err
		}
	}
	return nil
}

// recursiveChildren is how many one-event streams the recursive read
// walks.
const recursiveChildren = 1000

// streamsRecursive compares a recursive read over many small streams with
// a plain read of one stream, both returning 100 events: the recursive
// one should cost in proportion to the events it returns, plus a little
// per stream.
func (b *bench) streamsRecursive(ctx context.Context, dir string) error {
	l, err := eventlog.OpenEventLog(ctx, eventlog.LogOptions{Dir: dir})
	if err != nil {
		return err
	}
	defer l.Close()
	var drafts []event.Draft
	for i := range recursiveChildren {
		d := benchDraft(i)
		d.Stream = "/p/" + strconv.Itoa(i)
		drafts = append(drafts, d)
		if i%(recursiveChildren/streamsPerBig) == 0 {
			d := benchDraft(i)
			d.Stream = "/q"
			drafts = append(drafts, d)
		}
	}
	for len(drafts) > 0 {
		k := min(len(drafts), 500)
		if _, err := l.Append(ctx, store.AppendRequest{Drafts: drafts[:k], CreatedBy: "bench"}); err != nil {
			return err
		}
		drafts = drafts[k:]
	}
	if err := l.Checkpoint(ctx); err != nil {
		return err
	}
	ss, err := timeInterleaved(ctx, 3, b.sz.lookupN, b.sz.budget,
		func(int) error {
			return readStreamRecords(ctx, l, store.StreamQuery{Stream: "/p", Recursive: true, Limit: streamsPerBig}, streamsPerBig)
		},
		func(int) error {
			return readStreamRecords(ctx, l, store.StreamQuery{Stream: "/q"}, streamsPerBig)
		})
	if err != nil {
		return err
	}
	rec, plain := ss[0].p50(), ss[1].p50()
	b.rep.add(fmt.Sprintf("streams: read /p recursive, limit %d, over %s one-event child streams, p50", streamsPerBig, group(recursiveChildren)),
		fmtDur(rec), fmtDur(plain)+fmt.Sprintf(" (a %d-event stream of the same log)", streamsPerBig), fmtRatio(float64(rec)/float64(plain)))
	return nil
}

// streamsApart has 16 clients append to 16 streams with expectedVersion
// and reports events per fsync: every group commit (one fsync) stamps
// its events with one createdAt, so the groups are the distinct
// createdAt values.
func (b *bench) streamsApart(ctx context.Context, dir string) error {
	l, err := eventlog.OpenEventLog(ctx, eventlog.LogOptions{Dir: dir})
	if err != nil {
		return err
	}
	defer l.Close()
	const clients = 16
	per := max(10, b.sz.appendN/4)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	t0 := time.Now()
	for c := range clients {
		wg.Go(func() {
			for i := range per {
				d := benchDraft(i)
				d.Stream, d.HasExpected, d.ExpectedVersion = "/apart/"+strconv.Itoa(c), true, uint64(i)
				if _, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: "bench"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	close(errs)
	for err := range errs {
		return fmt.Errorf("16 clients on 16 streams: %w", err)
	}
	total := clients * per
	r, err := l.Reader(ctx, 1, uint64(total))
	if err != nil {
		return err
	}
	defer r.Close()
	b2, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	groups := map[string]bool{}
	for _, line := range splitLines(b2) {
		ev, err := event.DecodeRecord(line)
		if err != nil {
			return err
		}
		groups[ev.CreatedAt] = true
	}
	b.rep.add("streams: 16 clients on 16 streams with expectedVersion",
		fmt.Sprintf("%.1f events per fsync; %s; no conflicts", float64(total)/float64(len(groups)), fmtRate(perSec(float64(total), elapsed), "events")), "", "")
	return nil
}

// streamIndexSize reports the stream index's bytes per event of a stream:
// apparent size and disk blocks (stream.idx is sparse).
func (b *bench) streamIndexSize(dir string, events int) error {
	var apparent, disk int64
	for _, name := range []string{"stream.idx", "streams.idx"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		apparent += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			disk += st.Blocks * 512
		}
	}
	b.rep.add("streams: index bytes per event (stream.idx + streams.idx, big log)",
		fmt.Sprintf("%.1f B on disk (%.1f B apparent, sparse)", float64(disk)/float64(events), float64(apparent)/float64(events)), "", "")
	return nil
}

// buildStreamLog writes the big log directly through eventlog.
func (b *bench) buildStreamLog(ctx context.Context, dir string) (*eventlog.EventLog, time.Duration, error) {
	l, err := eventlog.OpenEventLog(ctx, eventlog.LogOptions{Dir: dir})
	if err != nil {
		return nil, 0, err
	}
	nStreams := max(1, b.sz.events/streamsPerBig)
	t0 := time.Now()
	for n := 0; n < b.sz.events; {
		k := min(b.sz.batch, b.sz.events-n)
		drafts := make([]event.Draft, k)
		for i := range drafts {
			drafts[i] = benchDraft(n + i)
			drafts[i].Stream = streamName((n + i) % nStreams)
		}
		if _, err := l.Append(ctx, store.AppendRequest{Drafts: drafts, CreatedBy: "bench@example.com"}); err != nil {
			l.Close()
			return nil, 0, err
		}
		n += k
	}
	elapsed := time.Since(t0)
	if err := l.Checkpoint(ctx); err != nil {
		l.Close()
		return nil, 0, err
	}
	return l, elapsed, nil
}

// benchDraft is a small event like the ones the serve phase appends.
func benchDraft(i int) event.Draft {
	return event.Draft{EventID: event.NewUUID(), EventType: "bench.added",
		Body: []byte(`{"i":` + strconv.Itoa(i) + `,"title":"an item of about the size of a todo entry"}`)}
}

// splitLines splits NDJSON into its lines, without the newlines.
func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		out = append(out, b[:i])
		if i < len(b) {
			i++
		}
		b = b[i:]
	}
	return out
}
