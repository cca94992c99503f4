package consumerstore

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"apie/store"
	"apie/sum"
)

// slotBytes returns the bytes of slot which (0 or 1) of pair index.
func slotBytes(t *testing.T, s *Store, index int64, which int) []byte {
	t.Helper()
	b, err := os.ReadFile(s.slotsPath())
	if err != nil {
		t.Fatal(err)
	}
	off := index*pairSize + int64(which)*slotSize
	return b[off : off+slotSize]
}

// putSlot overwrites slot which of pair index with b.
func putSlot(t *testing.T, s *Store, index int64, which int, b []byte) {
	t.Helper()
	f, err := os.OpenFile(s.slotsPath(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, index*pairSize+int64(which)*slotSize); err != nil {
		t.Fatal(err)
	}
}

// newerSlot returns which slot of pair index holds the consumer's
// current position.
func newerSlot(t *testing.T, s *Store, index int64) int {
	t.Helper()
	var gens [2]uint64
	for i := range gens {
		sl, st, err := decodeSlot(slotBytes(t, s, index, i))
		if st != slotValid {
			t.Fatalf("slot %d: %v", i, err)
		}
		gens[i] = sl.gen
	}
	if gens[1] > gens[0] {
		return 1
	}
	return 0
}

// twoPositions makes consumers "a" (pair 0) and "w" (pair 1), moves w to
// seq 1 then seq 2, and returns the store: w's pair then holds both
// positions, 2 in the newer slot and 1 in the older.
func twoPositions(t *testing.T) *Store {
	t.Helper()
	s := openTest(t)
	ctx := context.Background()
	for _, m := range []store.ConsumerMove{
		{Name: "a", After: hashN(7), Seq: 7},
		// updatedBy long enough that the two halves of each slot differ.
		{Name: "w", After: hashN(1), Seq: 1, UpdatedBy: strings.Repeat("p", 250)},
		{Name: "w", After: hashN(2), Seq: 2, UpdatedBy: strings.Repeat("q", 250)},
	} {
		if _, _, err := s.Move(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestTornSlotOldPositionWins damages the newer slot of a pair in ways a
// torn write or a bad sector would: the consumer reads at its older
// position, from a fresh Store (another process) too, and the next move
// overwrites the damaged slot.
func TestTornSlotOldPositionWins(t *testing.T) {
	ctx := context.Background()
	garbage := []byte(strings.Repeat("\xa5garbage", slotSize/8))
	tests := []struct {
		name   string
		damage func(good, older []byte) []byte
	}{
		{"garbage", func(good, older []byte) []byte { return garbage }},
		{"zeros", func(good, older []byte) []byte { return make([]byte, slotSize) }},
		{"torn: new first half, old second half", func(good, older []byte) []byte {
			return append(append([]byte{}, good[:slotSize/2]...), older[slotSize/2:]...)
		}},
		{"torn: old first half, new second half", func(good, older []byte) []byte {
			return append(append([]byte{}, older[:slotSize/2]...), good[slotSize/2:]...)
		}},
		// Only the checksum tells these from a good slot: every field
		// is still well-formed.
		{"one bit of the hash flipped", func(good, older []byte) []byte {
			b := append([]byte{}, good...)
			b[offAfter+5] ^= 0x10
			return b
		}},
		{"one bit of the seq flipped", func(good, older []byte) []byte {
			b := append([]byte{}, good...)
			b[offSeq] ^= 0x04
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := twoPositions(t)
			newer := newerSlot(t, s, 1)
			good, older := slotBytes(t, s, 1, newer), slotBytes(t, s, 1, 1-newer)
			putSlot(t, s, 1, newer, tt.damage(good, older))
			for _, st := range []*Store{s, mustOpen(t, s.Dir())} {
				c, err := st.Get(ctx, "w")
				if err != nil || c.Seq != 1 || c.After != hashN(1) {
					t.Fatalf("Get: got %+v, %v; want the older position, seq 1", c, err)
				}
				l, err := st.List(ctx)
				if err != nil || len(l) != 2 || l[1].Seq != 1 || l[0].Seq != 7 {
					t.Fatalf("List: got %+v, %v", l, err)
				}
			}
			rep, err := s.Verify(ctx, nil)
			if err != nil || rep.TornSlots != 1 || len(rep.Damaged) != 0 {
				t.Fatalf("Verify: got %+v, %v; want one torn slot, no damage", rep, err)
			}
			if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(3), Seq: 3}); err != nil {
				t.Fatal(err)
			}
			if newerSlot(t, s, 1) != newer {
				t.Fatal("the move did not write over the damaged slot")
			}
			if c, err := mustOpen(t, s.Dir()).Get(ctx, "w"); err != nil || c.Seq != 3 {
				t.Fatalf("after the move: got %+v, %v", c, err)
			}
		})
	}
}

// TestBothSlotsBad: a pair whose two slots fail their checks is a
// corruption error naming the consumer and the command that removes it;
// other consumers are unaffected; consumer rm (Delete) removes it.
func TestBothSlotsBad(t *testing.T) {
	ctx := context.Background()
	s := twoPositions(t)
	for i := 0; i < 2; i++ {
		b := slotBytes(t, s, 1, i)
		b[offAfter] ^= 1
		putSlot(t, s, 1, i, b)
	}
	for _, st := range []*Store{s, mustOpen(t, s.Dir())} {
		_, err := st.Get(ctx, "w")
		var ce *store.CorruptionError
		if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "consumer w") || !strings.Contains(ce.Reason, "consumer rm w") {
			t.Fatalf("Get: got %v, want a CorruptionError naming w and consumer rm", err)
		}
		if _, err := st.List(ctx); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("List: got %v, want ErrCorrupt", err)
		}
		if _, _, err := st.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(3), Seq: 3}); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Move: got %v, want ErrCorrupt", err)
		}
		if c, err := st.Get(ctx, "a"); err != nil || c.Seq != 7 {
			t.Fatalf("Get of another consumer: got %+v, %v", c, err)
		}
	}
	rep, err := s.Verify(ctx, nil)
	if err != nil || len(rep.Damaged) != 1 || rep.Damaged[0].Name != "w" {
		t.Fatalf("Verify: got %+v, %v; want w damaged", rep, err)
	}
	if err := s.Delete(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after rm: got %v", err)
	}
	if l, err := s.List(ctx); err != nil || len(l) != 1 {
		t.Fatalf("after rm: List got %+v, %v", l, err)
	}
	if c, created, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(4), Seq: 4}); err != nil || !created {
		t.Fatalf("create again: got %+v %v, %v", c, created, err)
	}
}

// TestTornCreate: a crash while a new pair was being formatted leaves one
// slot torn and the other empty (or a file cut short): no consumer, no
// error, and the pair is used by the next create.
func TestTornCreate(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "a", After: hashN(1), Seq: 1}); err != nil {
		t.Fatal(err)
	}
	for _, tail := range [][]byte{
		append(make([]byte, slotSize), []byte("\x01torn")...), // slot 1 torn, slot 0 empty
		[]byte(strings.Repeat("cut", 40)),                     // a pair cut short in its first slot
	} {
		f, _ := os.OpenFile(s.slotsPath(), os.O_RDWR, 0)
		f.Truncate(pairSize)
		f.WriteAt(tail, pairSize)
		f.Close()
		st := mustOpen(t, s.Dir())
		if l, err := st.List(ctx); err != nil || len(l) != 1 {
			t.Fatalf("List: got %+v, %v", l, err)
		}
		if _, err := st.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get: got %v", err)
		}
		if rep, err := st.Verify(ctx, nil); err != nil || len(rep.Damaged) != 0 {
			t.Fatalf("Verify: got %+v, %v", rep, err)
		}
		if _, _, err := st.Move(ctx, store.ConsumerMove{Name: "b", After: hashN(2), Seq: 2}); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(s.slotsPath()); fi.Size() != 2*pairSize {
			t.Fatalf("the new consumer did not take the torn pair: file of %d bytes", fi.Size())
		}
		if c, err := mustOpen(t, s.Dir()).Get(ctx, "b"); err != nil || c.Seq != 2 {
			t.Fatalf("Get after create: got %+v, %v", c, err)
		}
		if err := st.Delete(ctx, "b"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStaleHint: a Store remembers the pair of each consumer it met; when
// another process deletes it and hands its pair to another consumer, the
// hint is not trusted.
func TestStaleHint(t *testing.T) {
	ctx := context.Background()
	a := openTest(t)
	b := mustOpen(t, a.Dir())
	if _, _, err := a.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(1), Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Move(ctx, store.ConsumerMove{Name: "x", After: hashN(5), Seq: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "w"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of the deleted consumer: got %v", err)
	}
	if _, _, err := b.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(2), Seq: 2}); err != nil {
		t.Fatal(err)
	}
	// a's hint for w names pair 0, now x's.
	a.remember("w", 0)
	if c, err := a.Get(ctx, "w"); err != nil || c.Seq != 2 {
		t.Fatalf("Get: got %+v, %v; want seq 2", c, err)
	}
	if _, _, err := a.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(3), Seq: 3, IfMatch: ptr(hashN(2))}); err != nil {
		t.Fatal(err)
	}
	if c, err := b.Get(ctx, "x"); err != nil || c.Seq != 5 {
		t.Fatalf("x: got %+v, %v", c, err)
	}
	if l, err := b.List(ctx); err != nil || len(l) != 2 || l[0].Seq != 3 || l[1].Seq != 5 {
		t.Fatalf("List: got %+v, %v", l, err)
	}
}

// TestSlotRoundTrip: every field survives a slot, at the limits.
func TestSlotRoundTrip(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	by := strings.Repeat("u", maxUpdatedBy)
	c, _, err := s.Move(ctx, store.ConsumerMove{Name: strings.Repeat("n", 128), After: hashN(9), Seq: 1<<64 - 1, UpdatedBy: by})
	if err != nil {
		t.Fatal(err)
	}
	got, err := mustOpen(t, s.Dir()).Get(ctx, c.Name)
	if err != nil || got != c {
		t.Fatalf("got %+v, %v; want %+v", got, err, c)
	}
	if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "v", After: sum.Genesis, UpdatedBy: by + "u"}); err == nil {
		t.Fatal("an updatedBy over the limit was stored")
	}
}

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
