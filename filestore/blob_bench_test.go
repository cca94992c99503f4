package filestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	"apie/sum"
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

// benchData returns size reproducible bytes whose first 8 bytes the
// benchmarks overwrite with a counter, so every Put stores new bytes.
func benchData(size int) []byte { return blobTestBytes(uint64(size), size) }

// benchmarkPut measures Put of size new bytes from memory. The Delete that
// keeps the disk from filling runs with the timer stopped.
func benchmarkPut(b *testing.B, size int) {
	s := newTestBlobStore(b, BlobOptions{})
	ctx := context.Background()
	data := benchData(size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var id uint64
	for b.Loop() {
		id++
		binary.LittleEndian.PutUint64(data, id)
		info, created, err := s.Put(ctx, bytes.NewReader(data), BlobInfo{ContentType: "application/octet-stream"}, nil)
		if err != nil || !created {
			b.Fatalf("Put: created=%v, %v", created, err)
		}
		b.StopTimer()
		if err := s.Delete(ctx, info.Hash); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// floorWrite is what Put is measured against (as cmd/apie-bench does):
// SHA-256 of data while writing it to a new file in dir, then fsync and
// close; one fsync in all. The file is left for the caller to remove.
func floorWrite(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "floor-*")
	if err != nil {
		return "", err
	}
	h := sum.New()
	for off := 0; off < len(data); off += blobBufSize {
		chunk := data[off:min(off+blobBufSize, len(data))]
		h.Write(chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return f.Name(), err
		}
	}
	_ = sum.FromDigest(h.Sum(nil))
	if err := f.Sync(); err != nil {
		f.Close()
		return f.Name(), err
	}
	return f.Name(), f.Close()
}

// benchmarkPutFloor measures floorWrite alone.
func benchmarkPutFloor(b *testing.B, size int) {
	dir := b.TempDir()
	data := benchData(size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var id uint64
	for b.Loop() {
		id++
		binary.LittleEndian.PutUint64(data, id)
		name, err := floorWrite(dir, data)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.Remove(name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// benchmarkPutVsFloor runs a Put and the floor in turn on the same bytes,
// so both see the same load on a noisy machine, and reports put-ms,
// floor-ms and of-floor: Put's throughput as a fraction of the floor's
// (the target is 0.70).
func benchmarkPutVsFloor(b *testing.B, size int) {
	s := newTestBlobStore(b, BlobOptions{})
	dir := b.TempDir()
	ctx := context.Background()
	data := benchData(size)
	var id uint64
	var tPut, tFloor time.Duration
	for b.Loop() {
		id++
		binary.LittleEndian.PutUint64(data, id)
		t0 := time.Now()
		info, _, err := s.Put(ctx, bytes.NewReader(data), BlobInfo{ContentType: "application/octet-stream"}, nil)
		tPut += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		t0 = time.Now()
		name, err := floorWrite(dir, data)
		tFloor += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Delete(ctx, info.Hash); err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(name); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(tPut.Microseconds())/1e3/n, "put-ms")
	b.ReportMetric(float64(tFloor.Microseconds())/1e3/n, "floor-ms")
	b.ReportMetric(float64(tFloor)/float64(tPut), "of-floor")
}

func BenchmarkPut1MiB(b *testing.B)         { benchmarkPut(b, 1<<20) }
func BenchmarkPut64MiB(b *testing.B)        { benchmarkPut(b, 64<<20) }
func BenchmarkPutFloor1MiB(b *testing.B)    { benchmarkPutFloor(b, 1<<20) }
func BenchmarkPutFloor64MiB(b *testing.B)   { benchmarkPutFloor(b, 64<<20) }
func BenchmarkPutVsFloor1MiB(b *testing.B)  { benchmarkPutVsFloor(b, 1<<20) }
func BenchmarkPutVsFloor64KiB(b *testing.B) { benchmarkPutVsFloor(b, 64<<10) }
