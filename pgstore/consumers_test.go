package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"apie/internal/pgtest"
	"apie/store"
	"apie/sum"
)

func hashN(n uint64) sum.Hash {
	if n == 0 {
		return sum.Genesis
	}
	return sum.Of([]byte{byte(n), byte(n >> 8)})
}

func ptr(h sum.Hash) *sum.Hash { return &h }

// TestConsumerMoves walks a consumer through the moves the file store's
// table checks: creation, If-None-Match, compare-and-swap, backward moves
// with and without force, a move to where it is, and bad input.
func TestConsumerMoves(t *testing.T) {
	pg := pgtest.Start(t)
	s := open(t, pg.DSN(), pg.NewSchema()).ConsumerStore()
	ctx := context.Background()
	steps := []struct {
		name        string
		m           store.ConsumerMove
		wantSeq     uint64
		wantCreated bool
		wantErr     error
	}{
		{"bad name", store.ConsumerMove{Name: "a/b"}, 0, false, store.ErrBadConsumerName},
		{"if-match on a missing consumer", store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1, IfMatch: ptr(sum.Genesis)}, 0, false, store.ErrPrecondition},
		{"create at the start", store.ConsumerMove{Name: "w", After: sum.Genesis, UpdatedBy: "a@example.com"}, 0, true, nil},
		{"create again if absent", store.ConsumerMove{Name: "w", After: hashN(2), Seq: 2, IfAbsent: true}, 0, false, store.ErrPrecondition},
		{"cas from the start", store.ConsumerMove{Name: "w", After: hashN(3), Seq: 3, IfMatch: ptr(sum.Genesis)}, 3, false, nil},
		{"cas with a stale position", store.ConsumerMove{Name: "w", After: hashN(4), Seq: 4, IfMatch: ptr(sum.Genesis)}, 3, false, store.ErrPrecondition},
		{"backward", store.ConsumerMove{Name: "w", After: hashN(2), Seq: 2}, 3, false, store.ErrConflict},
		{"same place", store.ConsumerMove{Name: "w", After: hashN(3), Seq: 3}, 3, false, nil},
		{"forward", store.ConsumerMove{Name: "w", After: hashN(5), Seq: 5, UpdatedBy: "b@example.com"}, 5, false, nil},
		{"backward with force", store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1, Force: true}, 1, false, nil},
	}
	for _, st := range steps {
		c, created, err := s.Move(ctx, st.m)
		if !errors.Is(err, st.wantErr) || (err == nil) != (st.wantErr == nil) {
			t.Fatalf("%s: got error %v, want %v", st.name, err, st.wantErr)
		}
		if err == nil && (created != st.wantCreated || c.Seq != st.wantSeq || c.After != hashN(st.wantSeq)) {
			t.Errorf("%s: got %+v created %v, want seq %d created %v", st.name, c, created, st.wantSeq, st.wantCreated)
		}
		if st.wantErr != nil && st.wantSeq == 0 {
			continue
		}
		got, err := s.Get(ctx, st.m.Name)
		if err != nil || got.Seq != st.wantSeq || got.After != hashN(st.wantSeq) {
			t.Errorf("%s: Get: got %+v, %v; want seq %d", st.name, got, err, st.wantSeq)
		}
		if err == nil && st.wantErr == nil && st.name != "same place" && (!got.UpdatedAt.Equal(c.UpdatedAt) || got.UpdatedBy != st.m.UpdatedBy) {
			t.Errorf("%s: stored %v by %q, Move returned %v by %q", st.name, got.UpdatedAt, got.UpdatedBy, c.UpdatedAt, st.m.UpdatedBy)
		}
	}
	var pe *store.ConsumerPreconditionError
	if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(9), Seq: 9, IfMatch: ptr(hashN(8))}); !errors.As(err, &pe) || !pe.Exists || pe.Current.Seq != 1 {
		t.Errorf("stale cas: got %v (%+v), want the current position in the error", err, pe)
	}
	if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: sum.Genesis, Seq: 3}); err == nil {
		t.Error("a seq without its hash was accepted")
	}
	for _, name := range []string{"b", "a", "c"} {
		if _, _, err := s.Move(ctx, store.ConsumerMove{Name: name, After: sum.Genesis}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List(ctx)
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if want := []string{"a", "b", "c", "w"}; err != nil || !slices.Equal(names, want) {
		t.Fatalf("List = %v, %v; want %v", names, err, want)
	}
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete a deleted consumer: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get a deleted consumer: %v, want ErrNotFound", err)
	}
}

// TestConsumerCASAcrossProcesses: stores opened separately on the same
// tables (separate apie-serve processes) race compare-and-swaps on one
// consumer, and race to create another: each position is won by exactly
// one, and one creation succeeds.
func TestConsumerCASAcrossProcesses(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	stores := []store.ConsumerStore{open(t, pg.DSN(), schema).ConsumerStore(), open(t, pg.DSN(), schema).ConsumerStore()}
	ctx := context.Background()
	if _, _, err := stores[0].Move(ctx, store.ConsumerMove{Name: "w", After: sum.Genesis}); err != nil {
		t.Fatal(err)
	}
	const target = 20
	var mu sync.Mutex
	won := map[uint64]int{}
	creates := 0
	var wg sync.WaitGroup
	for i := range 4 {
		s := stores[i%2]
		wg.Go(func() {
			if _, created, err := s.Move(ctx, store.ConsumerMove{Name: "new", After: sum.Genesis, IfAbsent: true}); err == nil && created {
				mu.Lock()
				creates++
				mu.Unlock()
			} else if err != nil && !errors.Is(err, store.ErrPrecondition) {
				t.Error(err)
			}
			for {
				cur, err := s.Get(ctx, "w")
				if err != nil {
					t.Error(err)
					return
				}
				if cur.Seq >= target {
					return
				}
				next := cur.Seq + 1
				_, _, err = s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(next), Seq: next, IfMatch: ptr(cur.After)})
				switch {
				case errors.Is(err, store.ErrPrecondition):
				case err != nil:
					t.Error(err)
					return
				default:
					mu.Lock()
					won[next]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for v := uint64(1); v <= target; v++ {
		if won[v] != 1 {
			t.Errorf("position %d won by %d moves, want 1", v, won[v])
		}
	}
	if creates != 1 {
		t.Errorf("%d creations of one consumer succeeded, want 1", creates)
	}
}

// TestVerifyConsumers: a consumer whose position is not an event of the
// log, or is at another seq, is damaged; one at the start or at its event
// is not.
func TestVerifyConsumers(t *testing.T) {
	pg := pgtest.Start(t)
	l := open(t, pg.DSN(), pg.NewSchema())
	ctx := context.Background()
	appendN(t, l, 2)
	evs := records(t, l, 2)
	s := l.ConsumerStore()
	moves := []store.ConsumerMove{
		{Name: "start", After: sum.Genesis},
		{Name: "good", After: evs[1].Hash, Seq: 2},
		{Name: "unknown", After: hashN(7), Seq: 7},
		{Name: "wrong-seq", After: evs[0].Hash, Seq: 2},
	}
	for _, m := range moves {
		if _, _, err := s.Move(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	n, damaged, err := s.VerifyConsumers(ctx, l.Lookup)
	var names []string
	for _, d := range damaged {
		names = append(names, d.Name)
	}
	if want := []string{"unknown", "wrong-seq"}; err != nil || n != 4 || !slices.Equal(names, want) {
		t.Fatalf("VerifyConsumers: %d checked, damaged %v, %v; want 4 and %v", n, names, err, want)
	}
}
