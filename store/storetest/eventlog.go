package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// EventLog runs the conformance suite for event logs. open returns a new,
// empty log for each subtest, and arranges (t.Cleanup) for it to be closed.
func EventLog(t *testing.T, open func(t *testing.T) store.EventLog) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l store.EventLog)
	}{
		{"EmptyLog", testEmptyLog},
		{"AppendOne", testAppendOne},
		{"AppendBatch", testAppendBatch},
		{"AppendEmpty", testAppendEmpty},
		{"IfMatch", testIfMatch},
		{"RetriesAndConflicts", testRetriesAndConflicts},
		{"Reads", testReads},
		{"ConcurrentAppends", testConcurrentAppends},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
	if _, ok := open(t).(store.Streams); !ok {
		t.Run("StreamsUnsupported", func(t *testing.T) { testStreamsUnsupported(t, open(t)) })
		return
	}
	for _, tt := range streamCases {
		t.Run(tt.name, func(t *testing.T) {
			l := open(t)
			tt.fn(t, l, l.(store.Streams))
		})
	}
}

// draft returns a draft with a fresh server-chosen eventId; body must be
// canonical JSON.
func draft(typ, body string) event.Draft {
	return event.Draft{EventID: event.NewUUID(), EventType: typ, Body: []byte(body)}
}

// clientDraft returns a draft whose eventId the client chose.
func clientDraft(id, typ, body string) event.Draft {
	return event.Draft{EventID: id, EventType: typ, Body: []byte(body), ClientID: true}
}

// uuidN returns a fixed, valid UUID made from n.
func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func mustAppend(t *testing.T, l store.EventLog, drafts ...event.Draft) store.AppendResult {
	t.Helper()
	res, err := l.Append(context.Background(), store.AppendRequest{Drafts: drafts, CreatedBy: "alice@example.com"})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

func mustHead(t *testing.T, l store.EventLog) store.Head {
	t.Helper()
	h, err := l.Head(context.Background())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

func readAll(t *testing.T, l store.EventLog, first, last uint64) []byte {
	t.Helper()
	r, err := l.Reader(context.Background(), first, last)
	if err != nil {
		t.Fatalf("Reader(%d, %d): %v", first, last, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("Reader(%d, %d): %v", first, last, err)
	}
	return b
}

// checkLog checks that the log holds exactly records, in order: each
// verifies by the hash rule, links to the one before, and is found by
// Record, Lookup and Reader; Head and Verify agree.
func checkLog(t *testing.T, l store.EventLog, records [][]byte) {
	t.Helper()
	ctx := context.Background()
	prev := sum.Genesis
	var all []byte
	for i, rec := range records {
		seq := uint64(i + 1)
		ev, err := event.VerifyRecord(rec)
		if err != nil {
			t.Fatalf("record %d does not verify: %v", seq, err)
		}
		if ev.Seq != seq || ev.PrevHash != prev {
			t.Fatalf("record %d: got seq %d prevHash %s, want seq %d prevHash %s", seq, ev.Seq, ev.PrevHash, seq, prev)
		}
		got, err := l.Record(ctx, seq)
		if err != nil || !bytes.Equal(got, rec) {
			t.Fatalf("Record(%d): got %q, %v; want %q", seq, got, err, rec)
		}
		if got, err := l.Lookup(ctx, ev.Hash); err != nil || got != seq {
			t.Fatalf("Lookup(%s): got %d, %v; want %d", ev.Hash, got, err, seq)
		}
		prev = ev.Hash
		all = append(append(all, rec...), '\n')
	}
	n := uint64(len(records))
	if h := mustHead(t, l); h != (store.Head{Seq: n, Hash: prev}) {
		t.Fatalf("Head: got %+v, want {%d %s}", h, n, prev)
	}
	if n > 0 {
		if got := readAll(t, l, 1, n); !bytes.Equal(got, all) {
			t.Fatalf("Reader(1, %d): got %q, want %q", n, got, all)
		}
	}
	rep, err := l.Verify(ctx, false)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Events != n || (n > 0 && rep.Head != prev) {
		t.Fatalf("Verify: got %d events, head %s; want %d, %s", rep.Events, rep.Head, n, prev)
	}
}

func testEmptyLog(t *testing.T, l store.EventLog) {
	ctx := context.Background()
	if h := mustHead(t, l); h != (store.Head{Seq: 0, Hash: sum.Genesis}) {
		t.Fatalf("Head of an empty log: got %+v, want {0 %s}", h, sum.Genesis)
	}
	if _, err := l.Record(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Record(1): got %v, want ErrNotFound", err)
	}
	if _, err := l.Record(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Record(0): got %v, want ErrNotFound", err)
	}
	if _, err := l.Lookup(ctx, sum.Of([]byte("nothing"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lookup: got %v, want ErrNotFound", err)
	}
	if r, err := l.Reader(ctx, 1, 1); !errors.Is(err, store.ErrNotFound) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Reader(1, 1): got %v, want ErrNotFound", err)
	}
	checkLog(t, l, nil)
}

func testAppendOne(t *testing.T, l store.EventLog) {
	d := draft("note.added", `{"text":"hello"}`)
	res := mustAppend(t, l, d)
	if res.Appended != 1 || len(res.Events) != 1 || len(res.Records) != 1 {
		t.Fatalf("got Appended %d with %d events, %d records; want 1, 1, 1", res.Appended, len(res.Events), len(res.Records))
	}
	ev := res.Events[0]
	if ev.Seq != 1 || ev.PrevHash != sum.Genesis || ev.EventID != d.EventID || ev.EventType != d.EventType ||
		!bytes.Equal(ev.Body, d.Body) || ev.CreatedBy != "alice@example.com" {
		t.Fatalf("got event %+v, want seq 1 after genesis with the draft's id, type, body and alice as its author", ev)
	}
	if !bytes.Equal(ev.Record(), res.Records[0]) {
		t.Fatalf("Records[0] is not the event's record")
	}
	checkLog(t, l, res.Records)
}

func testAppendBatch(t *testing.T, l store.EventLog) {
	one := mustAppend(t, l, draft("t", `1`))
	batch := mustAppend(t, l, draft("t", `2`), draft("t", `{"b":[3]}`), draft("u", `null`))
	if batch.Appended != 3 {
		t.Fatalf("got Appended %d, want 3", batch.Appended)
	}
	for i, ev := range batch.Events {
		if ev.Seq != uint64(i+2) {
			t.Fatalf("batch event %d: got seq %d, want %d", i, ev.Seq, i+2)
		}
	}
	checkLog(t, l, append(one.Records, batch.Records...))
}

func testAppendEmpty(t *testing.T, l store.EventLog) {
	if _, err := l.Append(context.Background(), store.AppendRequest{}); err == nil {
		t.Fatal("got nil error for an append of nothing")
	}
	checkLog(t, l, nil)
}

func testIfMatch(t *testing.T, l store.EventLog) {
	ctx := context.Background()
	genesis := sum.Genesis
	res, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{draft("x", "1")}, IfMatch: &genesis})
	if err != nil {
		t.Fatalf("If-Match genesis on an empty log: %v", err)
	}
	head := res.Events[0].Hash
	wrong := sum.Of([]byte("wrong"))
	tests := []struct {
		name    string
		ifMatch *sum.Hash
		wantErr bool
	}{
		{"unconditional", nil, false},
		{"genesis on a non-empty log", &genesis, true},
		{"stale head", &head, true},
		{"unknown hash", &wrong, true},
		{"current head", nil, false}, // filled in below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mustHead(t, l)
			im := tt.ifMatch
			if tt.name == "current head" {
				im = &before.Hash
			}
			res, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{draft("x", "2")}, IfMatch: im})
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if res.Events[0].PrevHash != before.Hash {
					t.Fatalf("got prevHash %s, want %s", res.Events[0].PrevHash, before.Hash)
				}
				return
			}
			var pe *store.PreconditionError
			if !errors.As(err, &pe) || !errors.Is(err, store.ErrPrecondition) {
				t.Fatalf("got %v, want a *PreconditionError", err)
			}
			if pe.Head != before.Hash {
				t.Fatalf("PreconditionError.Head: got %s, want %s", pe.Head, before.Hash)
			}
			if after := mustHead(t, l); after != before {
				t.Fatalf("a refused append changed the head: got %+v, want %+v", after, before)
			}
		})
	}
}

// testRetriesAndConflicts: a client-chosen eventId makes an append
// idempotent (the HTTP layer's 200 for a retry), and the same eventId with
// other content is a conflict (its 409) that fails the whole request.
func testRetriesAndConflicts(t *testing.T, l store.EventLog) {
	ctx := context.Background()
	first := mustAppend(t, l, clientDraft(uuidN(1), "t", `{"a":1}`), clientDraft(uuidN(2), "t", `{"a":2}`))
	stale := sum.Genesis
	tests := []struct {
		name         string
		drafts       []event.Draft
		ifMatch      *sum.Hash
		wantAppended int
		wantConflict bool
		wantSeqs     []uint64
	}{
		{"retry of one", []event.Draft{clientDraft(uuidN(1), "t", `{"a":1}`)}, nil, 0, false, []uint64{1}},
		{"retry of a batch with a stale If-Match", []event.Draft{clientDraft(uuidN(2), "t", `{"a":2}`), clientDraft(uuidN(1), "t", `{"a":1}`)}, &stale, 0, false, []uint64{2, 1}},
		{"same id, other body", []event.Draft{clientDraft(uuidN(1), "t", `{"a":9}`)}, nil, 0, true, nil},
		{"same id, other type", []event.Draft{clientDraft(uuidN(1), "u", `{"a":1}`)}, nil, 0, true, nil},
		{"conflict fails the whole batch", []event.Draft{clientDraft(uuidN(3), "t", `{}`), clientDraft(uuidN(2), "t", `{"a":0}`)}, nil, 0, true, nil},
		{"retry and new mixed", []event.Draft{clientDraft(uuidN(1), "t", `{"a":1}`), clientDraft(uuidN(4), "t", `{"a":4}`)}, nil, 1, false, []uint64{1, 3}},
		{"mixed with a stale If-Match", []event.Draft{clientDraft(uuidN(1), "t", `{"a":1}`), clientDraft(uuidN(5), "t", `{}`)}, &stale, 0, false, nil},
		{"same new id twice, same content", []event.Draft{clientDraft(uuidN(6), "t", `6`), clientDraft(uuidN(6), "t", `6`)}, nil, 1, false, []uint64{4, 4}},
		{"same new id twice, other content", []event.Draft{clientDraft(uuidN(7), "t", `7`), clientDraft(uuidN(7), "t", `8`)}, nil, 0, true, nil},
		{"retry after the new ones", []event.Draft{clientDraft(uuidN(6), "t", `6`), clientDraft(uuidN(4), "t", `{"a":4}`)}, nil, 0, false, []uint64{4, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mustHead(t, l)
			res, err := l.Append(ctx, store.AppendRequest{Drafts: tt.drafts, IfMatch: tt.ifMatch, CreatedBy: "bob"})
			if tt.wantConflict {
				if !errors.Is(err, store.ErrConflict) {
					t.Fatalf("got %v, want ErrConflict", err)
				}
			} else if tt.wantSeqs == nil {
				if !errors.Is(err, store.ErrPrecondition) {
					t.Fatalf("got %v, want ErrPrecondition", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if err != nil {
				if after := mustHead(t, l); after != before {
					t.Fatalf("a refused append changed the head: got %+v, want %+v", after, before)
				}
				return
			}
			if res.Appended != tt.wantAppended {
				t.Fatalf("got Appended %d, want %d", res.Appended, tt.wantAppended)
			}
			for i, ev := range res.Events {
				if ev.Seq != tt.wantSeqs[i] {
					t.Fatalf("event %d: got seq %d, want %d", i, ev.Seq, tt.wantSeqs[i])
				}
				if ev.EventID != tt.drafts[i].EventID {
					t.Fatalf("event %d: got id %q, want %q", i, ev.EventID, tt.drafts[i].EventID)
				}
				rec, err := l.Record(ctx, ev.Seq)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(rec, res.Records[i]) {
					t.Fatalf("event %d: got record %q, want the stored %q", i, res.Records[i], rec)
				}
			}
		})
	}
	if first.Events[0].CreatedBy != "alice@example.com" {
		t.Fatalf("got createdBy %q", first.Events[0].CreatedBy)
	}
	if rep, err := l.Verify(ctx, false); err != nil || rep.Events != 4 {
		t.Fatalf("Verify: got %d events, %v; want 4", rep.Events, err)
	}
}

// testReads: Reader serves any range of committed records, and refuses
// ranges outside them.
func testReads(t *testing.T, l store.EventLog) {
	ctx := context.Background()
	var recs [][]byte
	for i := range 5 {
		recs = append(recs, mustAppend(t, l, draft("t", fmt.Sprint(i))).Records...)
	}
	for _, r := range [][2]uint64{{1, 1}, {2, 4}, {5, 5}, {1, 5}} {
		var want []byte
		for _, rec := range recs[r[0]-1 : r[1]] {
			want = append(append(want, rec...), '\n')
		}
		if got := readAll(t, l, r[0], r[1]); !bytes.Equal(got, want) {
			t.Errorf("Reader(%d, %d): got %q, want %q", r[0], r[1], got, want)
		}
	}
	for _, r := range [][2]uint64{{0, 1}, {1, 6}, {6, 6}, {3, 2}} {
		rd, err := l.Reader(ctx, r[0], r[1])
		if err == nil {
			rd.Close()
		}
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Reader(%d, %d): got %v, want ErrNotFound", r[0], r[1], err)
		}
	}
	if _, err := l.Record(ctx, 6); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Record(6) of 5: got %v, want ErrNotFound", err)
	}
	checkLog(t, l, recs)
}

// testConcurrentAppends: appends from many goroutines each land whole, in
// one chain.
func testConcurrentAppends(t *testing.T, l store.EventLog) {
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ds := []event.Draft{draft("t", fmt.Sprint(w*100+i)), draft("t", fmt.Sprint(w*100+i+50))}
				res, err := l.Append(context.Background(), store.AppendRequest{Drafts: ds})
				if err == nil && (res.Appended != 2 || res.Events[1].Seq != res.Events[0].Seq+1) {
					err = fmt.Errorf("a batch of 2 got Appended %d, seqs %d and %d", res.Appended, res.Events[0].Seq, res.Events[1].Seq)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := uint64(writers * each * 2)
	recs := make([][]byte, n)
	for seq := uint64(1); seq <= n; seq++ {
		rec, err := l.Record(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		recs[seq-1] = rec
	}
	checkLog(t, l, recs)
}
