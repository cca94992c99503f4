package consumerstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"apie/store"
)

// BenchmarkMove is one durable move (lock, read the pair, write the
// older slot, fdatasync) of one consumer.
func BenchmarkMove(b *testing.B) {
	s, _ := Open(Options{Dir: filepath.Join(b.TempDir(), "consumers")})
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		seq := uint64(i + 1)
		if _, _, err := s.Move(ctx, store.ConsumerMove{Name: "w", After: hashN(seq), Seq: seq}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList1000 lists 1,000 consumers.
func BenchmarkList1000(b *testing.B) {
	s, _ := Open(Options{Dir: filepath.Join(b.TempDir(), "consumers")})
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if _, _, err := s.Move(ctx, store.ConsumerMove{Name: fmt.Sprintf("c%04d", i), After: hashN(1), Seq: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := s.List(ctx)
		if err != nil || len(l) != 1000 {
			b.Fatalf("%d, %v", len(l), err)
		}
	}
}
