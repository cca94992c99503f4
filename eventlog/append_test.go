package eventlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"apie/event"
	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// TestGroupCommit: many goroutines append at once. Every result is
// durable and in one chain, the records returned are the stored ones, and
// the fsyncs are fewer than the appends (they were grouped).
func TestGroupCommit(t *testing.T) {
	const workers, each = 16, 25
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	var syncs atomic.Int64
	l.hooks.syncLog = func(f *os.File) error {
		syncs.Add(1)
		time.Sleep(2 * time.Millisecond) // a slow disk lets callers queue up
		return f.Sync()
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([][]store.AppendResult, workers)
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ds := []event.Draft{clientDraft(uuidN(w*1000+i), "g", fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))}
				if i%5 == 0 {
					ds = append(ds, draft("g.batch", `{}`), draft("g.batch", `[]`))
				}
				res, err := l.Append(ctx, store.AppendRequest{Drafts: ds, CreatedBy: fmt.Sprint(w)})
				if err != nil {
					errs <- err
					return
				}
				results[w] = append(results[w], res)
				if i%7 == 0 { // a retry, judged against the group's running state
					again, err := l.Append(ctx, store.AppendRequest{Drafts: ds[:1]})
					if err != nil || again.Appended != 0 || again.Events[0].Hash != res.Events[0].Hash {
						errs <- fmt.Errorf("retry: got %+v, %v", again, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = workers * (each + 2*each/5) // 1 event each, 2 more every 5th
	if got := mustHead(t, l).Seq; got != total {
		t.Fatalf("got %d events, want %d", got, total)
	}
	if s := syncs.Load(); s >= workers*each {
		t.Fatalf("%d fsyncs for %d appends: nothing was grouped", s, workers*each)
	}
	seen := map[uint64]bool{}
	for _, rs := range results {
		for _, res := range rs {
			for i, ev := range res.Events {
				if seen[ev.Seq] {
					t.Fatalf("seq %d returned twice", ev.Seq)
				}
				seen[ev.Seq] = true
				rec, err := l.Record(ctx, ev.Seq)
				if err != nil || !bytes.Equal(rec, res.Records[i]) {
					t.Fatalf("seq %d: stored %q, returned %q (%v)", ev.Seq, rec, res.Records[i], err)
				}
			}
			// A request's events are consecutive.
			for i := 1; i < len(res.Events); i++ {
				if res.Events[i].Seq != res.Events[i-1].Seq+1 {
					t.Fatalf("batch not consecutive: %d then %d", res.Events[i-1].Seq, res.Events[i].Seq)
				}
			}
		}
	}
	checkChain(t, l, total, nil)
	t.Logf("%d appends, %d fsyncs", workers*each, syncs.Load())
}

// TestGroupIsolation holds a leader inside its fsync while other requests
// queue, then checks the next group: a request that fails (stale If-Match,
// conflict, cancelled) does not affect the others, If-Match is judged
// against the running head, and a retry of an event appended earlier in
// the same group returns it.
func TestGroupIsolation(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	ctx := context.Background()
	first := mustAppend(t, l, clientDraft(uuidN(1), "t", `1`))
	h1 := first.Events[0].Hash

	release := make(chan struct{})
	var syncs atomic.Int64
	l.hooks.syncLog = func(f *os.File) error {
		if syncs.Add(1) == 1 {
			<-release
		}
		return f.Sync()
	}
	type outcome struct {
		res store.AppendResult
		err error
	}
	run := func(ctx context.Context, req store.AppendRequest) chan outcome {
		ch := make(chan outcome, 1)
		go func() {
			res, err := l.Append(ctx, req)
			ch <- outcome{res, err}
		}()
		return ch
	}
	waitQueued := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			l.queue.lock()
			got := len(l.queue.pending)
			l.queue.unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue holds %d, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	leader := run(ctx, store.AppendRequest{Drafts: []event.Draft{clientDraft(uuidN(2), "t", `2`)}, IfMatch: &h1})
	for syncs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	stale := run(ctx, store.AppendRequest{Drafts: []event.Draft{draft("t", `"stale"`)}, IfMatch: &h1})
	waitQueued(1)
	conflict := run(ctx, store.AppendRequest{Drafts: []event.Draft{clientDraft(uuidN(1), "t", `"other"`)}})
	waitQueued(2)
	good := run(ctx, store.AppendRequest{Drafts: []event.Draft{clientDraft(uuidN(3), "t", `3`), draft("t", `4`)}})
	waitQueued(3)
	retry := run(ctx, store.AppendRequest{Drafts: []event.Draft{clientDraft(uuidN(3), "t", `3`)}, IfMatch: &h1})
	waitQueued(4)
	cctx, cancel := context.WithCancel(ctx)
	cancelled := run(cctx, store.AppendRequest{Drafts: []event.Draft{draft("t", `"never"`)}})
	waitQueued(5)
	cancel()
	if o := <-cancelled; !errors.Is(o.err, context.Canceled) {
		t.Fatalf("cancelled: got %v, want context.Canceled", o.err)
	}
	waitQueued(4)
	close(release)

	if o := <-leader; o.err != nil || o.res.Events[0].Seq != 2 {
		t.Fatalf("leader: got %+v, %v", o.res, o.err)
	}
	var pe *store.PreconditionError
	if o := <-stale; !errors.As(o.err, &pe) {
		t.Fatalf("stale If-Match: got %v, want a *store.PreconditionError", o.err)
	}
	if o := <-conflict; !errors.Is(o.err, store.ErrConflict) {
		t.Fatalf("conflict: got %v, want store.ErrConflict", o.err)
	}
	g := <-good
	if g.err != nil || g.res.Appended != 2 || g.res.Events[0].Seq != 3 || g.res.Events[1].Seq != 4 {
		t.Fatalf("good: got %+v, %v", g.res, g.err)
	}
	r := <-retry
	if r.err != nil || r.res.Appended != 0 || r.res.Events[0].Hash != g.res.Events[0].Hash {
		t.Fatalf("retry within the group: got %+v, %v", r.res, r.err)
	}
	if s := syncs.Load(); s != 2 {
		t.Fatalf("got %d fsyncs, want 2 (the leader's, then one for the queued group)", s)
	}
	if h := mustHead(t, l); h.Seq != 4 {
		t.Fatalf("head: got seq %d, want 4", h.Seq)
	}
	checkChain(t, l, 4, []sum.Hash{h1, g.res.Events[1].Hash})
}

// TestAppendWaitsForLock: while another holder has the flock, Append
// waits, and gives up when its context ends.
func TestAppendWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	unlock, ok, err := durable.TryLock(l.path(logLockName), 0o640)
	if err != nil || !ok {
		t.Fatalf("durable.TryLock: %v %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := l.Append(ctx, store.AppendRequest{Drafts: appendDrafts(1)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l.Append(context.Background(), store.AppendRequest{Drafts: appendDrafts(1)})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	unlock()
	if err := <-done; err != nil {
		t.Fatalf("append after the lock was freed: %v", err)
	}
	if h := mustHead(t, l); h.Seq != 1 {
		t.Fatalf("got seq %d, want 1", h.Seq)
	}
}

// TestFollowersAnsweredBeforeInserts: the callers of a group get their
// results once it is committed, while its leader still inserts into the
// indexes; what they got can be looked up at once, before the inserts.
func TestFollowersAnsweredBeforeInserts(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	hold := make(chan chan struct{})
	stop := make(chan struct{}) // on failure: no more holding, so Close can finish
	t.Cleanup(func() { close(stop) })
	l.hooks.beforeInserts = func() {
		release := make(chan struct{})
		select {
		case hold <- release:
		case <-stop:
			return
		}
		select {
		case <-release:
		case <-stop:
		}
	}
	type result struct {
		res store.AppendResult
		err error
	}
	start := func() chan result {
		ch := make(chan result, 1)
		go func() {
			res, err := l.Append(context.Background(), store.AppendRequest{Drafts: appendDrafts(1)})
			ch <- result{res, err}
		}()
		return ch
	}
	a := start()
	first := <-hold // a leads group 1 and waits before its inserts
	b, c := start(), start()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		l.queue.lock()
		n := len(l.queue.pending)
		l.queue.unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b and c did not queue: %d pending", n)
		}
	}
	close(first)
	if r := <-a; r.err != nil {
		t.Fatal(r.err)
	}
	second := <-hold // one of b and c leads group 2 (both), before its inserts
	var answered result
	leader := c
	select {
	case answered = <-b:
	case answered = <-c:
		leader = b
	case <-time.After(5 * time.Second):
		t.Fatal("no caller of the committed group was answered while its leader waited before the inserts")
	}
	if answered.err != nil {
		t.Fatal(answered.err)
	}
	h := answered.res.Events[0].Hash
	other := openLog(t, testOpts(dir, nil)) // another *EventLog: reads the files, not this writer's state
	if seq, err := other.Lookup(context.Background(), h); err != nil || seq != 3 {
		t.Fatalf("Lookup of an answered event before its inserts: got %d, %v, want 3", seq, err)
	}
	close(second)
	if r := <-leader; r.err != nil {
		t.Fatal(r.err)
	}
	if got := mustHead(t, l).Seq; got != 3 {
		t.Fatalf("head: got seq %d, want 3", got)
	}
}
