package eventlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"apie/store"
	"apie/sum"
)

func TestLevelOf(t *testing.T) {
	tests := []struct {
		c, seq uint64
		want   int
	}{
		{16, 1, 0}, {16, 8, 0}, {16, 9, 1}, {16, 24, 1}, {16, 25, 2}, {16, 56, 2}, {16, 57, 3},
		{65536, 1, 0}, {65536, 32768, 0}, {65536, 32769, 1}, {65536, 98304, 1}, {65536, 98305, 2},
		{2, 1, 0}, {2, 2, 1}, {2, 3, 1}, {2, 4, 2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("C=%d/seq=%d", tt.c, tt.seq), func(t *testing.T) {
			if got := levelOf(tt.seq, tt.c); got != tt.want {
				t.Fatalf("got level %d, want %d", got, tt.want)
			}
		})
	}
	// Every level holds at most half its slots, and the levels tile the seqs.
	for _, c := range []uint64{2, 4, 16, 65536} {
		next := uint64(1)
		for k := 0; k < 20; k++ {
			lo, hi := levelSeqs(k, c)
			if lo+1 != next {
				t.Fatalf("C=%d level %d starts at %d, want %d", c, k, lo+1, next)
			}
			if hi-lo > (c<<k)/2 {
				t.Fatalf("C=%d level %d holds %d seqs in %d slots", c, k, hi-lo, c<<k)
			}
			for _, s := range []uint64{lo + 1, hi} {
				if got := levelOf(s, c); got != k {
					t.Fatalf("C=%d: levelOf(%d) = %d, want %d", c, s, got, k)
				}
			}
			next = hi + 1
		}
	}
	if got, want := levelOffset(0, 16), int64(4096); got != want {
		t.Fatalf("levelOffset(0): got %d, want %d", got, want)
	}
	if got, want := levelOffset(2, 16), int64(4096+16*16*3); got != want {
		t.Fatalf("levelOffset(2): got %d, want %d", got, want)
	}
}

func TestIndexHeader(t *testing.T) {
	h := indexHeader{kind: kindID, slots: 64, covered: 12345, synced: 4096, bootID: "0b0b0b0b-1111-2222-3333-444455556666"}
	b := h.marshal()
	if len(b) != indexHeaderUsed {
		t.Fatalf("got %d bytes, want %d", len(b), indexHeaderUsed)
	}
	if string(b[:8]) != "apie-idx" || binary.LittleEndian.Uint32(b[8:]) != 1 || binary.LittleEndian.Uint64(b[24:]) != 12345 {
		t.Fatalf("header bytes do not follow doc.go: %x", b)
	}
	got, err := parseIndexHeader(b, kindID)
	if err != nil {
		t.Fatal(err)
	}
	if got != h {
		t.Fatalf("got %+v, want %+v", got, h)
	}
	if _, err := parseIndexHeader(b, kindHash); !errors.Is(err, errBadIndexHeader) {
		t.Fatalf("wrong kind: got %v, want errBadIndexHeader", err)
	}
	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		if _, err := parseIndexHeader(bad, kindID); !errors.Is(err, errBadIndexHeader) {
			t.Fatalf("byte %d flipped: got %v, want errBadIndexHeader", i, err)
		}
	}
	for _, n := range []int{0, 8, 91} {
		if _, err := parseIndexHeader(b[:n], kindID); !errors.Is(err, errBadIndexHeader) {
			t.Fatalf("%d bytes: got %v, want errBadIndexHeader", n, err)
		}
	}
	tests := []struct {
		boot string
		want uint64
	}{
		{h.bootID, 12345},
		{"another boot", 4096},
		{"", 4096},
	}
	for _, tt := range tests {
		if got := h.trusted(tt.boot); got != tt.want {
			t.Errorf("trusted(%q): got %d, want %d", tt.boot, got, tt.want)
		}
	}
}

// newTestIndex returns an empty index file with level-0 size c.
func newTestIndex(t *testing.T, c uint64) *hashIndex {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hash.idx")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	x := &hashIndex{path: path, kind: kindHash, f: f}
	if _, err := x.reset(c, "boot"); err != nil {
		t.Fatal(err)
	}
	return x
}

func keyOf(i int) sum.Hash { return sum.Of(fmt.Appendf(nil, "key %d", i)) }

// find returns the seqs stored under key (confirming nothing).
func findAll(t *testing.T, x *hashIndex, c uint64, key sum.Hash, maxSeq uint64) []uint64 {
	t.Helper()
	var got []uint64
	if _, err := x.probe(c, key, maxSeq, func(s uint64) (bool, error) {
		got = append(got, s)
		return false, nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestIndexInsertProbeLevels(t *testing.T) {
	const c, n = 4, 2000 // levels 0..9
	x := newTestIndex(t, c)
	for s := 1; s <= n; s++ {
		if err := x.insert(c, keyOf(s), uint64(s)); err != nil {
			t.Fatalf("insert %d: %v", s, err)
		}
	}
	for s := 1; s <= n; s++ {
		got := findAll(t, x, c, keyOf(s), n)
		if len(got) != 1 || got[0] != uint64(s) {
			t.Fatalf("key %d: got seqs %v, want [%d]", s, got, s)
		}
	}
	// Entries above maxSeq are not offered: a reader sees only committed seqs.
	if got := findAll(t, x, c, keyOf(n), n-1); len(got) != 0 {
		t.Fatalf("seq %d offered below it: %v", n, got)
	}
	if got := findAll(t, x, c, keyOf(n+1), n); len(got) != 0 {
		t.Fatalf("absent key: got %v", got)
	}
	// Re-inserting is idempotent: no second slot.
	fi, _ := x.f.Stat()
	before := countSlots(t, x, fi.Size())
	for s := 1; s <= n; s += 7 {
		if err := x.insert(c, keyOf(s), uint64(s)); err != nil {
			t.Fatal(err)
		}
	}
	if after := countSlots(t, x, fi.Size()); after != before || before != n {
		t.Fatalf("got %d slots after re-inserting (%d before), want %d", after, before, n)
	}
}

// countSlots counts the non-empty slots of an index file.
func countSlots(t *testing.T, x *hashIndex, size int64) int {
	t.Helper()
	b := make([]byte, size)
	if _, err := x.f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	for off := indexHeaderSize; off+indexSlotSize <= len(b); off += indexSlotSize {
		if binary.LittleEndian.Uint64(b[off+8:]) != 0 {
			n++
		}
	}
	return n
}

func TestIndexSamePrefix(t *testing.T) {
	// Keys that share the stored prefix are told apart by the confirm
	// callback: both seqs are offered.
	const c = 16
	x := newTestIndex(t, c)
	k1 := keyOf(1)
	k2 := k1
	k2[31] ^= 1
	for s, k := range map[uint64]sum.Hash{3: k1, 5: k2} {
		if err := x.insert(c, k, s); err != nil {
			t.Fatal(err)
		}
	}
	got := findAll(t, x, c, k1, 10)
	if len(got) != 2 {
		t.Fatalf("got %v, want both seqs 3 and 5", got)
	}
	stop, err := x.probe(c, k1, 10, func(s uint64) (bool, error) { return s == 5, nil })
	if err != nil || !stop {
		t.Fatalf("probe with a confirm: got %v, %v", stop, err)
	}
}

func TestIndexStraySlots(t *testing.T) {
	// Slots whose seq does not belong to their level are skipped, and a
	// full level is reported, not looped over.
	const c = 4
	x := newTestIndex(t, c)
	key := keyOf(1)
	slot := make([]byte, indexSlotSize*c)
	for i := 0; i < c; i++ {
		copy(slot[i*indexSlotSize:], key[:8])
		binary.LittleEndian.PutUint64(slot[i*indexSlotSize+8:], 100) // seq 100 lives in a later level
	}
	if _, err := x.f.WriteAt(slot, levelOffset(0, c)); err != nil {
		t.Fatal(err)
	}
	if got := findAll(t, x, c, key, 200); len(got) != 0 {
		t.Fatalf("stray slots offered: %v", got)
	}
	var ce *store.CorruptionError
	if err := x.insert(c, key, 1); !errors.As(err, &ce) {
		t.Fatalf("insert into a full level: got %v, want a *store.CorruptionError", err)
	}
}

// FuzzIndexHeader: any bytes at the start of an index file either parse
// to a header that marshals back to them, or are refused.
func FuzzIndexHeader(f *testing.F) {
	f.Add(indexHeader{kind: kindHash, slots: 16, covered: 5, synced: 4, bootID: "b"}.marshal())
	f.Add(indexHeader{kind: kindID, slots: 65536}.marshal())
	f.Add([]byte("apie-idx"))
	f.Add(make([]byte, indexHeaderUsed))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range []indexKind{kindHash, kindID} {
			h, err := parseIndexHeader(b, k)
			if err != nil {
				if !errors.Is(err, errBadIndexHeader) {
					t.Fatalf("got %v, want errBadIndexHeader", err)
				}
				continue
			}
			if got := h.marshal(); !bytes.Equal(got[:41+len(h.bootID)], b[:41+len(h.bootID)]) {
				t.Fatalf("round trip: got %x, want %x", got, b[:indexHeaderUsed])
			}
		}
	})
}
