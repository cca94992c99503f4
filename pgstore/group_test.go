package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"apie/event"
	"apie/internal/pgtest"
	"apie/store"
)

// TestGroupCommitRetriesAndConflicts: many appends at once on one log go
// in shared transactions. The same client eventId sent by many callers at
// once is appended once and every caller gets that event; a caller whose
// eventId is taken with other content fails alone, the others commit.
func TestGroupCommitRetriesAndConflicts(t *testing.T) {
	pg := pgtest.Start(t)
	l := open(t, pg.DSN(), pg.NewSchema())
	ctx := context.Background()
	shared := event.NewUUID()
	const n = 40
	var wg sync.WaitGroup
	results := make([]store.AppendResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var ds []event.Draft
			switch {
			case i == n-1: // the shared eventId with other content
				ds = []event.Draft{draft(shared, `"other"`)}
			case i%2 == 0: // the shared eventId
				ds = []event.Draft{draft(shared, `"same"`)}
			default:
				ds = []event.Draft{draft(event.NewUUID(), fmt.Sprint(i))}
			}
			results[i], errs[i] = l.Append(ctx, store.AppendRequest{Drafts: ds})
		})
	}
	wg.Wait()
	var sharedHash string
	appended := 0
	for i := range n {
		switch {
		case i == n-1:
			// Either it came first (and the "same" ones conflict) or not.
			continue
		case errs[i] != nil:
			if i%2 == 0 && errors.Is(errs[i], store.ErrConflict) {
				continue
			}
			t.Fatalf("append %d: %v", i, errs[i])
		}
		appended += results[i].Appended
		if i%2 == 0 {
			h := results[i].Events[0].Hash.String()
			if sharedHash != "" && h != sharedHash {
				t.Fatalf("append %d of the shared eventId got %s, another got %s", i, h, sharedHash)
			}
			sharedHash = h
		}
	}
	head, err := l.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := l.Verify(ctx, false)
	if err != nil || rep.Events != head.Seq {
		t.Fatalf("Verify: %+v, %v", rep, err)
	}
	// n/2-1 distinct events, plus the shared eventId once (from whichever content won).
	if want := uint64(n/2 - 1 + 1); head.Seq != want {
		t.Fatalf("%d events stored, want %d: the shared eventId once, each other one once", head.Seq, want)
	}
	if errs[n-1] == nil && sharedHash != "" {
		t.Fatalf("both contents of eventId %s were accepted", shared)
	}
	if errs[n-1] != nil && !errors.Is(errs[n-1], store.ErrConflict) {
		t.Fatalf("the other content: %v, want ErrConflict", errs[n-1])
	}
}

// TestGroupCommitStreamRefusedAlone: a stream append (not on PostgreSQL
// yet) sent among plain ones fails alone with store.ErrUnsupported; the
// plain ones commit.
func TestGroupCommitStreamRefusedAlone(t *testing.T) {
	pg := pgtest.Start(t)
	l := open(t, pg.DSN(), pg.NewSchema())
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			d := draft(event.NewUUID(), fmt.Sprint(i))
			if i == 7 {
				d.Stream = "/orders"
			}
			_, errs[i] = l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 && !errors.Is(err, store.ErrUnsupported) {
			t.Errorf("the stream append: %v, want ErrUnsupported", err)
		}
		if i != 7 && err != nil {
			t.Errorf("append %d: %v", i, err)
		}
	}
	if h, err := l.Head(ctx); err != nil || h.Seq != n-1 {
		t.Fatalf("head %+v, %v; want %d events", h, err, n-1)
	}
}
