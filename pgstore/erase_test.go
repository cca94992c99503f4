package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"apie/event"
	"apie/internal/pgtest"
	"apie/store"
	"apie/sum"
)

func records(t *testing.T, l store.EventLog, n uint64) []event.Event {
	t.Helper()
	var out []event.Event
	for seq := uint64(1); seq <= n; seq++ {
		rec, err := l.Record(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.DecodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// TestErase: an erase appends the tombstone the file log would and leaves
// the record in its erased form (the file log's bytes without padding),
// counted once; Verify accepts it; erasing again changes nothing; a
// tombstone cannot be erased and an unknown hash is not found.
func TestErase(t *testing.T) {
	pg := pgtest.Start(t)
	l := open(t, pg.DSN(), pg.NewSchema())
	ctx := context.Background()
	appendN(t, l, 3)
	before := records(t, l, 3)
	res, err := l.Erase(ctx, before[1].Hash, "asked to", "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	tomb := res.Events[0]
	want := event.TombstoneDraft(before[1].Hash, 2, "asked to")
	if tomb.Seq != 4 || tomb.EventID != want.EventID || tomb.EventType != event.ErasedType || !bytes.Equal(tomb.Body, want.Body) || tomb.CreatedBy != "admin@example.com" {
		t.Fatalf("tombstone %+v, want %s at seq 4 with body %s", tomb, want.EventID, want.Body)
	}
	rec, err := l.Record(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	erasedEv := event.Erase(before[1])
	if !bytes.Equal(rec, erasedEv.Record()) {
		t.Fatalf("record 2 is\n%s\nwant the erased form\n%s", rec, erasedEv.Record())
	}
	if got, _ := event.DecodeRecord(rec); !got.Erased() || got.Hash != before[1].Hash {
		t.Fatalf("record 2 does not look erased or lost its hash: %s", rec)
	}
	if n, err := l.Erasures(ctx); err != nil || n != 1 {
		t.Fatalf("Erasures = %d, %v; want 1", n, err)
	}
	rep, err := l.Verify(ctx, false)
	if err != nil || rep.Erased != 1 || rep.Events != 4 {
		t.Fatalf("Verify: %+v, %v; want 4 events, 1 erased", rep, err)
	}
	again, err := l.Erase(ctx, before[1].Hash, "other reason", "bob@example.com")
	if err != nil || again.Events[0].Hash != tomb.Hash {
		t.Fatalf("erase again: %+v, %v; want the same tombstone", again, err)
	}
	if h, _ := l.Head(ctx); h.Seq != 4 {
		t.Fatalf("erase again moved the head to %d", h.Seq)
	}
	if n, _ := l.Erasures(ctx); n != 1 {
		t.Fatalf("Erasures after erasing again = %d, want 1", n)
	}
	if _, err := l.Erase(ctx, tomb.Hash, "x", "a"); !errors.Is(err, store.ErrNotErasable) {
		t.Fatalf("erase a tombstone: %v, want ErrNotErasable", err)
	}
	if _, err := l.Erase(ctx, sum.Of([]byte("nothing")), "x", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("erase an unknown hash: %v, want ErrNotFound", err)
	}
	// A retry of the erased event's append is still recognized.
	d := event.Draft{EventID: before[0].EventID, EventType: "t", Body: []byte("0"), ClientID: true}
	if r, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}}); err != nil || r.Appended != 0 {
		t.Fatalf("retry of an event before the erased one: %+v, %v", r, err)
	}
}

// TestEraseConcurrent: logs opened separately (separate processes) erase
// the same event at once: one tombstone, one erase counted, and every
// caller gets that tombstone.
func TestEraseConcurrent(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	a, b := open(t, pg.DSN(), schema), open(t, pg.DSN(), schema)
	ctx := context.Background()
	appendN(t, a, 2)
	target := records(t, a, 1)[0]
	var wg sync.WaitGroup
	got := make([]sum.Hash, 6)
	for i := range got {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Go(func() {
			res, err := l.Erase(ctx, target.Hash, "r", "admin")
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = res.Events[0].Hash
		})
	}
	wg.Wait()
	for _, h := range got[1:] {
		if h != got[0] {
			t.Fatalf("erasers got different tombstones: %v", got)
		}
	}
	if h, _ := a.Head(ctx); h.Seq != 3 {
		t.Fatalf("head at %d after concurrent erases of one event, want 3", h.Seq)
	}
	if n, _ := b.Erasures(ctx); n != 1 {
		t.Fatalf("Erasures = %d, want 1", n)
	}
}

// TestVerifyErasedNeedsTombstone: Verify accepts exactly the erased
// bodies a later tombstone names: a record put in its erased form by hand
// (no tombstone, or a tombstone naming another seq) is damage.
func TestVerifyErasedNeedsTombstone(t *testing.T) {
	pg := pgtest.Start(t)
	ctx := context.Background()
	t.Run("no tombstone", func(t *testing.T) {
		schema := pg.NewSchema()
		l := open(t, pg.DSN(), schema)
		appendN(t, l, 3)
		ev := records(t, l, 2)[1]
		erased := event.Erase(ev)
		exec(t, pg.DSN(), "UPDATE "+pgx.Identifier{schema, "events"}.Sanitize()+" SET record = $1 WHERE seq = 2", erased.Record())
		var ce *store.CorruptionError
		if _, err := l.Verify(ctx, false); !errors.As(err, &ce) || ce.Seq != 2 {
			t.Fatalf("Verify: %v, want damage at seq 2", err)
		}
	})
	t.Run("a tombstone naming another seq", func(t *testing.T) {
		schema := pg.NewSchema()
		l := open(t, pg.DSN(), schema)
		appendN(t, l, 3)
		evs := records(t, l, 3)
		if _, err := l.Erase(ctx, evs[0].Hash, "r", "admin"); err != nil {
			t.Fatal(err)
		}
		erased := event.Erase(evs[2])
		exec(t, pg.DSN(), "UPDATE "+pgx.Identifier{schema, "events"}.Sanitize()+" SET record = $1 WHERE seq = 3", erased.Record())
		var ce *store.CorruptionError
		if _, err := l.Verify(ctx, false); !errors.As(err, &ce) || ce.Seq != 3 {
			t.Fatalf("Verify: %v, want damage at seq 3", err)
		}
	})
}
