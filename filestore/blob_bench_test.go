package filestore

import (
	"context"
	"encoding/binary"
	"io"
	"runtime"
	"testing"
)

// patternReader yields n bytes without allocating: a counter-seeded
// pattern, so each id gives other bytes (and another hash).
type patternReader struct {
	id, n, off uint64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(uint64(len(b)), p.n-p.off)
	for i := uint64(0); i < k; i++ {
		b[i] = byte((p.off + i) * 31)
	}
	if p.off == 0 && k >= 8 {
		binary.LittleEndian.PutUint64(b, p.id)
	}
	p.off += k
	return int(k), nil
}

// TestBlobPutMemory shows that a 64 MiB Put does not allocate anything like
// the blob's size: the body is streamed through a fixed buffer.
func TestBlobPutMemory(t *testing.T) {
	const size = 64 << 20
	b := newTestBlobStore(t, BlobOptions{})
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	info, _, err := b.Put(ctx, &patternReader{id: 1, n: size}, BlobInfo{}, nil)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("got size %d, want %d", info.Size, size)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got >= 4<<20 {
		t.Errorf("a %d MiB Put allocated %d bytes, want under 4 MiB", size>>20, got)
	} else {
		t.Logf("a %d MiB Put allocated %d bytes", size>>20, got)
	}
}

func benchmarkPut(b *testing.B, size uint64) {
	s := newTestBlobStore(b, BlobOptions{})
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var id uint64
	for b.Loop() {
		id++
		info, created, err := s.Put(ctx, &patternReader{id: id, n: size}, BlobInfo{ContentType: "application/octet-stream"}, nil)
		if err != nil || !created {
			b.Fatalf("Put: created=%v, %v", created, err)
		}
		// Keep the disk from filling over many iterations; deleting is
		// part of the cost, but small beside the write.
		if err := s.Delete(ctx, info.Hash); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut1MiB(b *testing.B)  { benchmarkPut(b, 1<<20) }
func BenchmarkPut64MiB(b *testing.B) { benchmarkPut(b, 64<<20) }
