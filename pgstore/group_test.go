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

// TestGroupCommitStreamRefusedAlone: stream appends sent among plain ones
// (so that they share transactions) are judged alone: of two expecting
// version 0 of one stream exactly one wins, one expecting a version the
// stream never had fails with the version as it is, and the plain ones
// commit.
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
			switch i {
			case 7, 8:
				d.Stream, d.HasExpected = "/orders", true
			case 9:
				d.Stream, d.HasExpected, d.ExpectedVersion = "/orders", true, 5
			}
			_, errs[i] = l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}})
		})
	}
	wg.Wait()
	var ve *store.StreamVersionError
	for i, err := range errs {
		switch {
		case i == 9 && (!errors.As(err, &ve) || ve.Expected != 5 || ve.Current > 1):
			t.Errorf("the append expecting version 5: %v, want a StreamVersionError", err)
		case i != 7 && i != 8 && i != 9 && err != nil:
			t.Errorf("append %d: %v", i, err)
		}
	}
	if (errs[7] == nil) == (errs[8] == nil) || !errors.As(errors.Join(errs[7], errs[8]), &ve) || ve.Current != 1 {
		t.Errorf("two appends expecting version 0: %v and %v; want one to win, the other refused at version 1", errs[7], errs[8])
	}
	if h, err := l.Head(ctx); err != nil || h.Seq != n-2 {
		t.Fatalf("head %+v, %v; want %d events", h, err, n-2)
	}
}
