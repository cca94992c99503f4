package consumerstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/store"
	"apie/sum"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := Open(Options{Dir: filepath.Join(t.TempDir(), "events", "consumers"), Now: func() time.Time {
		clock = clock.Add(time.Second)
		return clock
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hashN is a made-up event hash for seq n (the store never checks the log).
func hashN(n uint64) sum.Hash {
	if n == 0 {
		return sum.Genesis
	}
	return sum.Of([]byte{byte(n), byte(n >> 8)})
}

func ptr(h sum.Hash) *sum.Hash { return &h }

func TestMoveTable(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	steps := []struct {
		name        string
		m           store.ConsumerMove
		wantSeq     uint64 // the consumer's seq after the step
		wantCreated bool
		wantErr     error
	}{
		{"bad name", store.ConsumerMove{Name: "a/b"}, 0, false, store.ErrBadConsumerName},
		{"dot", store.ConsumerMove{Name: "."}, 0, false, store.ErrBadConsumerName},
		{"dotdot", store.ConsumerMove{Name: ".."}, 0, false, store.ErrBadConsumerName},
		{"if-match on a missing consumer", store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1, IfMatch: ptr(sum.Genesis)}, 0, false, store.ErrPrecondition},
		{"create at the start", store.ConsumerMove{Name: "w", After: sum.Genesis}, 0, true, nil},
		{"create again if absent", store.ConsumerMove{Name: "w", After: hashN(2), Seq: 2, IfAbsent: true}, 0, false, store.ErrPrecondition},
		{"cas from the start", store.ConsumerMove{Name: "w", After: hashN(3), Seq: 3, IfMatch: ptr(sum.Genesis)}, 3, false, nil},
		{"cas with a stale position", store.ConsumerMove{Name: "w", After: hashN(4), Seq: 4, IfMatch: ptr(sum.Genesis)}, 3, false, store.ErrPrecondition},
		{"backward", store.ConsumerMove{Name: "w", After: hashN(2), Seq: 2}, 3, false, store.ErrConflict},
		{"same place", store.ConsumerMove{Name: "w", After: hashN(3), Seq: 3}, 3, false, nil},
		{"forward", store.ConsumerMove{Name: "w", After: hashN(5), Seq: 5}, 5, false, nil},
		{"backward with force", store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1, Force: true}, 1, false, nil},
		{"back to the start with force", store.ConsumerMove{Name: "w", After: sum.Genesis, Force: true}, 0, false, nil},
		{"seq without hash", store.ConsumerMove{Name: "w", After: sum.Genesis, Seq: 3}, 0, false, nil},
	}
	for _, st := range steps {
		c, created, err := s.Move(ctx, st.m)
		if st.name == "seq without hash" {
			if err == nil {
				t.Errorf("%s: got no error", st.name)
			}
			continue
		}
		if !errors.Is(err, st.wantErr) || (err == nil) != (st.wantErr == nil) {
			t.Fatalf("%s: got error %v, want %v", st.name, err, st.wantErr)
		}
		if err == nil && (created != st.wantCreated || c.Seq != st.wantSeq || c.After != hashN(st.wantSeq)) {
			t.Errorf("%s: got %+v created %v, want seq %d created %v", st.name, c, created, st.wantSeq, st.wantCreated)
		}
		if store.CheckConsumerName(st.m.Name) != nil {
			continue
		}
		got, err := s.Get(ctx, st.m.Name)
		if st.wantSeq == 0 && errors.Is(err, store.ErrNotFound) && !created && st.wantErr != nil {
			continue // not created yet
		}
		if err != nil || got.Seq != st.wantSeq || got.After != hashN(st.wantSeq) {
			t.Errorf("%s: Get: got %+v, %v; want seq %d", st.name, got, err, st.wantSeq)
		}
	}
	var pe *store.ConsumerPreconditionError
	_, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(9), Seq: 9, IfMatch: ptr(hashN(8))})
	if !errors.As(err, &pe) || !pe.Exists || pe.Current.Seq != 0 {
		t.Errorf("stale cas: got %v (%+v), want the current position in the error", err, pe)
	}
}

func TestUpdatedAtAndBy(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c1, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1, UpdatedBy: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// A move to the same place writes nothing: the first mover stays.
	c2, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1, UpdatedBy: "b@example.com"})
	if err != nil || c2 != c1 {
		t.Fatalf("same place: got %+v, %v; want %+v", c2, err, c1)
	}
	c3, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(2), Seq: 2, UpdatedBy: "b@example.com"})
	if err != nil || c3.UpdatedBy != "b@example.com" || !c3.UpdatedAt.After(c1.UpdatedAt) {
		t.Fatalf("move: got %+v, %v", c3, err)
	}
	got, err := s.Get(ctx, "w")
	if err != nil || got != c3 {
		t.Fatalf("Get: got %+v, %v; want %+v", got, err, c3)
	}
}

func TestListAndDelete(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if l, err := s.List(ctx); err != nil || len(l) != 0 {
		t.Fatalf("empty store: got %v, %v", l, err)
	}
	if err := s.Delete(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete before any: got %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(s.Dir()); err == nil {
		t.Fatal("a read or a failed delete made the directory")
	}
	names := []string{"b", "A", "a.b", "_", "-x", "z9", strings.Repeat("n", 128)}
	for i, n := range names {
		if _, _, err := s.Move(ctx, store.ConsumerMove{Name: n, After: hashN(uint64(i)), Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A stray the store must ignore: a foreign file.
	os.WriteFile(filepath.Join(s.Dir(), "README"), []byte("hi"), 0o600)
	l, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-x", "A", "_", "a.b", "b", strings.Repeat("n", 128), "z9"}
	var got []string
	for _, c := range l {
		got = append(got, c.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("List: got %q, want %q", got, want)
	}
	if err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: got %v", err)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: got %v", err)
	}
	if _, err := s.Get(ctx, strings.Repeat("n", 129)); !errors.Is(err, store.ErrBadConsumerName) {
		t.Fatalf("129 bytes: got %v", err)
	}
}

func TestFormatFile(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: sum.Genesis}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir(), "format"))
	if err != nil || string(b) != "apie-consumers 2\n" {
		t.Fatalf("format file: %q, %v", b, err)
	}
	// A fresh Store, as another process or a later start would have.
	s, _ = Open(Options{Dir: s.Dir()})
	os.WriteFile(filepath.Join(s.Dir(), "format"), []byte("apie-consumers 3\n"), 0o600)
	if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1}); err == nil || !strings.Contains(err.Error(), "unsupported format") {
		t.Fatalf("move in a newer format: got %v", err)
	}
	if _, err := s.List(ctx); err == nil {
		t.Fatal("list in a newer format: no error")
	}
	if _, err := s.Get(ctx, "w"); err == nil || !strings.Contains(err.Error(), "unsupported format") {
		t.Fatalf("get in a newer format: got %v", err)
	}
	// The first format (one file per consumer, never released) is
	// refused the same way, even with no slot file beside it.
	old := filepath.Join(t.TempDir(), "consumers")
	os.MkdirAll(old, 0o750)
	os.WriteFile(filepath.Join(old, "format"), []byte("apie-consumers 1\n"), 0o600)
	os.WriteFile(filepath.Join(old, "c-w"), []byte("{}\n"), 0o600)
	s, _ = Open(Options{Dir: old})
	if _, err := s.Get(ctx, "w"); err == nil || !strings.Contains(err.Error(), "unsupported format") {
		t.Fatalf("get in format 1: got %v", err)
	}
	if _, err := s.List(ctx); err == nil {
		t.Fatal("list in format 1: no error")
	}
}

// TestConcurrentCAS has 16 goroutines, each with its own Store on the one
// directory (as 16 processes would have), race to move one consumer with
// If-Match from the position each last saw to the next: every position is
// taken exactly once, and the consumer ends at the last one.
func TestConcurrentCAS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "consumers")
	ctx := context.Background()
	first, _ := Open(Options{Dir: dir})
	if _, _, err := first.Move(ctx, store.ConsumerMove{Name: "w", After: sum.Genesis}); err != nil {
		t.Fatal(err)
	}
	const workers, last = 16, 100
	var mu sync.Mutex
	takenBy := map[uint64]int{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _ := Open(Options{Dir: dir})
			for {
				cur, err := s.Get(ctx, "w")
				if err != nil {
					t.Error(err)
					return
				}
				if cur.Seq >= last {
					return
				}
				next := cur.Seq + 1
				_, _, err = s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(next), Seq: next, IfMatch: ptr(cur.After)})
				if errors.Is(err, store.ErrPrecondition) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				takenBy[next]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for seq := uint64(1); seq <= last; seq++ {
		if takenBy[seq] != 1 {
			t.Errorf("position %d taken %d times, want once", seq, takenBy[seq])
		}
	}
	if c, err := first.Get(ctx, "w"); err != nil || c.Seq != last {
		t.Errorf("end: got %+v, %v; want seq %d", c, err, last)
	}
}
