package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// streamCases are the conformance cases about streams; EventLog runs them.
var streamCases = []struct {
	name string
	fn   func(t *testing.T, l store.EventLog, s store.Streams)
}{
	{"StreamAppendNumbers", testStreamAppendNumbers},
	{"StreamExpectedVersion", testStreamExpectedVersion},
	{"StreamRetryBeforePrecondition", testStreamRetryBeforePrecondition},
	{"StreamReads", testStreamReads},
	{"StreamRecursive", testStreamRecursive},
	{"StreamList", testStreamList},
	{"StreamRace", testStreamRace},
	{"StreamsApart", testStreamsApart},
	{"StreamReadRecords", testStreamReadRecords},
}

// streamDraft returns a draft of stream s; expected < 0 means none.
func streamDraft(s string, expected int, body string) event.Draft {
	d := draft("t", body)
	d.Stream = s
	if expected >= 0 {
		d.HasExpected, d.ExpectedVersion = true, uint64(expected)
	}
	return d
}

func appendReq(l store.EventLog, drafts ...event.Draft) (store.AppendResult, error) {
	return l.Append(context.Background(), store.AppendRequest{Drafts: drafts, CreatedBy: "alice@example.com"})
}

// testStreamAppendNumbers: stored events of a stream carry stream and
// streamSeq, counted per stream; events without a stream carry neither;
// both members are covered by the hash.
func testStreamAppendNumbers(t *testing.T, l store.EventLog, s store.Streams) {
	res := mustAppend(t, l,
		streamDraft("/orders/1", -1, `1`), draft("t", `2`), streamDraft("/orders/2", -1, `3`), streamDraft("/orders/1", -1, `4`))
	want := []struct {
		stream string
		seq    uint64
	}{{"/orders/1", 1}, {"", 0}, {"/orders/2", 1}, {"/orders/1", 2}}
	for i, ev := range res.Events {
		if ev.Stream != want[i].stream || ev.StreamSeq != want[i].seq {
			t.Errorf("event %d: stream %q streamSeq %d, want %q %d", i+1, ev.Stream, ev.StreamSeq, want[i].stream, want[i].seq)
		}
		rec, err := l.Record(context.Background(), ev.Seq)
		if err != nil {
			t.Fatal(err)
		}
		got, err := event.VerifyRecord(rec)
		if err != nil {
			t.Fatalf("event %d does not verify: %v", i+1, err)
		}
		if got.Stream != ev.Stream || got.StreamSeq != ev.StreamSeq {
			t.Errorf("record %d holds stream %q %d", i+1, got.Stream, got.StreamSeq)
		}
	}
	// The hash covers streamSeq: the same event renumbered hashes otherwise.
	ev := res.Events[3]
	ev.StreamSeq = 7
	if event.HeaderHash(&ev) == res.Events[3].Hash {
		t.Error("hash does not cover streamSeq")
	}
	info, err := s.StreamHead(context.Background(), "/orders/1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != 2 || info.FirstSeq != 1 || info.LastSeq != 4 || info.Last != res.Events[3].Hash || info.First != res.Events[0].Hash {
		t.Errorf("StreamHead = %+v", info)
	}
	if info, err := s.StreamHead(context.Background(), "/nothing"); err != nil || info.Version != 0 {
		t.Errorf("StreamHead of an absent stream = %+v, %v; want version 0", info, err)
	}
}

// testStreamExpectedVersion: expectedVersion counts the request's earlier
// events; a mismatch anywhere in a batch writes nothing and names the
// stream and its version; If-Match and expectedVersion hold together.
func testStreamExpectedVersion(t *testing.T, l store.EventLog, s store.Streams) {
	mustAppend(t, l, streamDraft("/a", 0, `1`), streamDraft("/a", 1, `2`), streamDraft("/b", 0, `3`))
	head := mustHead(t, l)
	cases := []struct {
		name    string
		drafts  []event.Draft
		stream  string
		current uint64
	}{
		{"stale", []event.Draft{streamDraft("/a", 1, `x`)}, "/a", 2},
		{"must not exist", []event.Draft{streamDraft("/b", 0, `x`)}, "/b", 1},
		{"ahead", []event.Draft{streamDraft("/new", 3, `x`)}, "/new", 0},
		{"second of batch", []event.Draft{streamDraft("/a", 2, `x`), streamDraft("/a", 2, `y`)}, "/a", 3},
		{"other stream in batch", []event.Draft{streamDraft("/a", 2, `x`), streamDraft("/b", 5, `y`)}, "/b", 1},
	}
	for _, c := range cases {
		_, err := appendReq(l, c.drafts...)
		var sve *store.StreamVersionError
		if !errors.As(err, &sve) || !errors.Is(err, store.ErrPrecondition) {
			t.Fatalf("%s: err = %v, want a StreamVersionError", c.name, err)
		}
		if sve.Stream != c.stream || sve.Current != c.current {
			t.Errorf("%s: error names %s at %d, want %s at %d", c.name, sve.Stream, sve.Current, c.stream, c.current)
		}
		if h := mustHead(t, l); h != head {
			t.Fatalf("%s: the log changed: head %v, want %v", c.name, h, head)
		}
	}
	// Right versions, If-Match wrong: 412 from If-Match, nothing written.
	wrong := sum.Of([]byte("x"))
	_, err := l.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{streamDraft("/a", 2, `x`)}, IfMatch: &wrong})
	var pe *store.PreconditionError
	if !errors.As(err, &pe) {
		t.Fatalf("If-Match wrong: err = %v", err)
	}
	res, err := l.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{streamDraft("/a", 2, `x`), streamDraft("/a", 3, `y`)}, IfMatch: &head.Hash})
	if err != nil {
		t.Fatalf("right versions and If-Match: %v", err)
	}
	if res.Events[1].StreamSeq != 4 {
		t.Errorf("streamSeq %d, want 4", res.Events[1].StreamSeq)
	}
}

// testStreamRetryBeforePrecondition: a retry of stored events answers
// with them (Appended 0) even when its expectedVersion is stale.
func testStreamRetryBeforePrecondition(t *testing.T, l store.EventLog, s store.Streams) {
	d := streamDraft("/r", 0, `1`)
	d.EventID, d.ClientID = uuidN(1), true
	first := mustAppend(t, l, d)
	mustAppend(t, l, streamDraft("/r", 1, `2`))
	res, err := appendReq(l, d)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if res.Appended != 0 || res.Events[0].Hash != first.Events[0].Hash {
		t.Errorf("retry appended %d, event %v; want 0 and the stored one", res.Appended, res.Events[0].Hash)
	}
}

// streamLog appends a mixed log: events of /s/0../s/2, /s/1/x and none.
func streamLog(t *testing.T, l store.EventLog, n int) map[string][]uint64 {
	names := []string{"/s/0", "/s/1", "", "/s/2", "/s/1/x", "/s2"}
	byStream := map[string][]uint64{}
	for i := range n {
		s := names[i%len(names)]
		res := mustAppend(t, l, streamDraft(s, -1, fmt.Sprint(i)))
		if s != "" {
			byStream[s] = append(byStream[s], res.Events[0].Seq)
		}
	}
	return byStream
}

// testStreamReads: a stream's events in log order, with after, last and
// limit, match what the log holds; an absent stream reads empty.
func testStreamReads(t *testing.T, l store.EventLog, s store.Streams) {
	byStream := streamLog(t, l, 60)
	ctx := context.Background()
	all := byStream["/s/1"]
	cases := []struct {
		q    store.StreamQuery
		want []uint64
	}{
		{store.StreamQuery{Stream: "/s/1"}, all},
		{store.StreamQuery{Stream: "/s/1", Limit: 3}, all[:3]},
		{store.StreamQuery{Stream: "/s/1", After: all[2]}, all[3:]},
		{store.StreamQuery{Stream: "/s/1", After: all[2] + 1, Limit: 2}, all[3:5]},
		{store.StreamQuery{Stream: "/s/1", Last: all[4]}, all[:5]},
		{store.StreamQuery{Stream: "/s/1", After: all[len(all)-1]}, nil},
		{store.StreamQuery{Stream: "/none"}, nil},
	}
	for _, c := range cases {
		got, err := s.StreamSeqs(ctx, c.q)
		if err != nil {
			t.Fatalf("%+v: %v", c.q, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.q, got, c.want)
		}
	}
	for _, seq := range all {
		rec, err := l.Record(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if ev, err := event.DecodeRecord(rec); err != nil || ev.Stream != "/s/1" {
			t.Errorf("seq %d: stream %q, %v", seq, ev.Stream, err)
		}
	}
}

// testStreamRecursive: a prefix read merges the stream and those below it
// in log order, never a sibling that only shares the prefix's letters.
func testStreamRecursive(t *testing.T, l store.EventLog, s store.Streams) {
	byStream := streamLog(t, l, 40)
	var want []uint64
	for _, s := range []string{"/s/0", "/s/1", "/s/2", "/s/1/x"} {
		want = append(want, byStream[s]...)
	}
	slices.Sort(want)
	ctx := context.Background()
	got, err := s.StreamSeqs(ctx, store.StreamQuery{Stream: "/s", Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("recursive /s: got %v, want %v", got, want)
	}
	got, err = s.StreamSeqs(ctx, store.StreamQuery{Stream: "/s", Recursive: true, After: want[4], Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want[5:10]) {
		t.Errorf("recursive /s after, limit: got %v, want %v", got, want[5:10])
	}
	sub := append(slices.Clone(byStream["/s/1"]), byStream["/s/1/x"]...)
	slices.Sort(sub)
	if got, _ := s.StreamSeqs(ctx, store.StreamQuery{Stream: "/s/1", Recursive: true}); !slices.Equal(got, sub) {
		t.Errorf("recursive /s/1: got %v, want %v", got, sub)
	}
	if got, _ := s.StreamSeqs(ctx, store.StreamQuery{Stream: "/s"}); len(got) != 0 {
		t.Errorf("/s alone holds no events, got %v", got)
	}
}

// testStreamList: streams by name under a prefix, paged by after.
func testStreamList(t *testing.T, l store.EventLog, s store.Streams) {
	byStream := streamLog(t, l, 30)
	ctx := context.Background()
	got, err := s.ListStreams(ctx, "/s", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Stream)
		if s.Version != uint64(len(byStream[s.Stream])) || s.LastSeq != byStream[s.Stream][len(byStream[s.Stream])-1] || s.FirstSeq != byStream[s.Stream][0] {
			t.Errorf("%s: %+v", s.Stream, s)
		}
	}
	if want := []string{"/s/0", "/s/1", "/s/1/x", "/s/2"}; !slices.Equal(names, want) {
		t.Errorf("ListStreams(/s) = %v, want %v", names, want)
	}
	page, err := s.ListStreams(ctx, "", "/s/1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Stream != "/s/1/x" || page[1].Stream != "/s/2" {
		t.Errorf("page after /s/1 = %+v", page)
	}
}

// testStreamRace: 16 writers race to append to one stream, each with
// the version it last saw; exactly one wins each version, and the stream
// ends numbered 1..N without a gap.
func testStreamRace(t *testing.T, l store.EventLog, s store.Streams) {
	const writers, rounds = 16, 8
	ctx := context.Background()
	var wins atomic.Int64
	winners := make([]atomic.Int64, writers*rounds+1)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				info, err := s.StreamHead(ctx, "/race")
				if err != nil {
					t.Error(err)
					return
				}
				_, err = appendReq(l, streamDraft("/race", int(info.Version), fmt.Sprintf(`"%d-%d"`, w, r)))
				var sve *store.StreamVersionError
				switch {
				case err == nil:
					wins.Add(1)
					winners[info.Version+1].Add(1)
				case errors.As(err, &sve):
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	info, err := s.StreamHead(ctx, "/race")
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != uint64(wins.Load()) {
		t.Errorf("version %d after %d wins", info.Version, wins.Load())
	}
	for v := uint64(1); v <= info.Version; v++ {
		if n := winners[v].Load(); n != 1 {
			t.Errorf("version %d won by %d writers, want exactly 1", v, n)
		}
	}
	seqs, err := s.StreamSeqs(ctx, store.StreamQuery{Stream: "/race"})
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		rec, _ := l.Record(ctx, seq)
		if ev, err := event.DecodeRecord(rec); err != nil || ev.StreamSeq != uint64(i+1) {
			t.Errorf("event %d of the stream has streamSeq %d (%v)", i+1, ev.StreamSeq, err)
		}
	}
}

// testStreamsApart: 16 writers on 16 streams with expectedVersion never
// conflict.
func testStreamsApart(t *testing.T, l store.EventLog, s store.Streams) {
	const writers, rounds = 16, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				if _, err := appendReq(l, streamDraft(fmt.Sprintf("/w/%d", w), r, `1`)); err != nil {
					t.Errorf("writer %d round %d: %v", w, r, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for w := range writers {
		info, err := s.StreamHead(context.Background(), fmt.Sprintf("/w/%d", w))
		if err != nil || info.Version != rounds {
			t.Errorf("/w/%d: version %d, %v; want %d", w, info.Version, err, rounds)
		}
	}
}

// testStreamsUnsupported: a log without streams refuses, and changes
// nothing for, an append that names a stream or expects a version.
func testStreamsUnsupported(t *testing.T, l store.EventLog) {
	before := mustHead(t, l)
	for _, d := range []event.Draft{streamDraft("/orders/1", -1, `1`), streamDraft("/orders/1", 0, `1`)} {
		if _, err := appendReq(l, d); !errors.Is(err, store.ErrUnsupported) {
			t.Errorf("append with stream %q: got %v, want ErrUnsupported", d.Stream, err)
		}
	}
	if after := mustHead(t, l); after != before {
		t.Errorf("a refused append changed the head: %+v, then %+v", before, after)
	}
}

// testStreamReadRecords: StreamRead returns the seqs StreamSeqs does and,
// for as many of the first as fit in the budget, their records exactly
// as Record returns them; budget 0 returns none.
func testStreamReadRecords(t *testing.T, l store.EventLog, s store.Streams) {
	ctx := context.Background()
	for i := range 5 {
		mustAppend(t, l, streamDraft("/r/1", -1, fmt.Sprintf(`{"i":%d}`, i)), draft("t", `0`))
	}
	q := store.StreamQuery{Stream: "/r/1"}
	want, err := s.StreamSeqs(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	one, err := l.Record(ctx, want[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		budget, wantRecs int
	}{{0, 0}, {len(one), 1}, {1 << 20, len(want)}} {
		seqs, recs, err := s.StreamRead(ctx, q, tt.budget)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs, want) {
			t.Fatalf("budget %d: seqs %v, want %v", tt.budget, seqs, want)
		}
		if len(recs) != tt.wantRecs {
			t.Fatalf("budget %d: %d records, want %d", tt.budget, len(recs), tt.wantRecs)
		}
		for i, rec := range recs {
			got, err := l.Record(ctx, seqs[i])
			if err != nil {
				t.Fatal(err)
			}
			if string(rec) != string(got) {
				t.Fatalf("budget %d: record %d is %q, Record says %q", tt.budget, seqs[i], rec, got)
			}
		}
	}
}
