package consumerstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"apie/store"
)

// TestFindAcrossChunks: a Store that has met no consumer (a CGI request)
// finds each by scanning the slot file in chunks: a consumer in any pair,
// the last pair of a chunk and the first of the next included; a create
// takes the first freed pair even when it lies past the first chunk; and
// a name in two pairs in different chunks is still a damaged consumer.
func TestFindAcrossChunks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const n = 3*scanChunk/pairSize + 5 // three full chunks and part of a fourth
	for i := 0; i < n; i++ {
		if _, _, err := s.Move(ctx, store.ConsumerMove{Name: fmt.Sprintf("c%04d", i), After: hashN(uint64(i + 1)), Seq: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	per := scanChunk / pairSize
	for _, i := range []int{0, per - 1, per, 2*per + 7, n - 1} {
		name := fmt.Sprintf("c%04d", i)
		c, err := mustOpen(t, s.Dir()).Get(ctx, name)
		if err != nil || c.Seq != uint64(i+1) {
			t.Fatalf("Get %s from a fresh Store: got %+v, %v; want seq %d", name, c, err, i+1)
		}
	}
	// Free a pair in the third chunk: the next create takes it, not a new pair.
	freed := 2*per + 3
	if err := mustOpen(t, s.Dir()).Delete(ctx, fmt.Sprintf("c%04d", freed)); err != nil {
		t.Fatal(err)
	}
	fresh := mustOpen(t, s.Dir())
	if _, created, err := fresh.Move(ctx, store.ConsumerMove{Name: "new", After: hashN(9), Seq: 9}); err != nil || !created {
		t.Fatalf("create: %v, %v", created, err)
	}
	if i, ok := fresh.hint("new"); !ok || i != int64(freed) {
		t.Fatalf("the new consumer is in pair %d (known %v), want the freed pair %d", i, ok, freed)
	}
	if _, err := mustOpen(t, s.Dir()).Get(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	// Copy pair 1 (c0001) over a pair of the last chunk: c0001 is then in two pairs.
	for w := 0; w < 2; w++ {
		putSlot(t, s, int64(n-2), w, slotBytes(t, s, 1, w))
	}
	_, err := mustOpen(t, s.Dir()).Get(ctx, "c0001")
	var de *store.ConsumerDamagedError
	if !errors.As(err, &de) || de.Name != "c0001" {
		t.Fatalf("Get of a name in two pairs: got %v, want a ConsumerDamagedError for c0001", err)
	}
}
