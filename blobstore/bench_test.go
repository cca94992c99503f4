package blobstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"
	"time"

	"apie/store"
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
	info, _, err := b.Put(ctx, &patternReader{id: 1, n: size}, store.BlobInfo{}, nil)
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
		info, created, err := s.Put(ctx, bytes.NewReader(data), store.BlobInfo{ContentType: "application/octet-stream"}, nil)
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

// putVsFloor runs a Put and the floor in turn on the same bytes, so that
// both see the same load on a noisy machine. put stores one blob of the
// bytes given in s and returns its hash. It reports put-ms and floor-ms a
// run, and of-floor: Put's throughput as a fraction of the floor's (the
// target is 0.70).
func putVsFloor(b *testing.B, size int, s *BlobStore, put func(data []byte) (sum.Hash, error)) {
	dir := b.TempDir()
	ctx := context.Background()
	data := benchData(size)
	var id uint64
	var took [2]time.Duration // Put, floor
	run := func(i int) error {
		id++
		binary.LittleEndian.PutUint64(data, id)
		if i == 1 {
			t0 := time.Now()
			name, err := floorWrite(dir, data)
			took[i] += time.Since(t0)
			if err != nil {
				return err
			}
			return os.Remove(name)
		}
		t0 := time.Now()
		h, err := put(data)
		took[i] += time.Since(t0)
		if err != nil {
			return err
		}
		return s.Delete(ctx, h)
	}
	for k := 0; b.Loop(); k++ {
		// Each goes first in turn: what runs after a removal pays for
		// it (discard, journal), so neither is always first.
		for j := range len(took) {
			if err := run((k + j) % len(took)); err != nil {
				b.Fatal(err)
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / float64(b.N) }
	b.ReportMetric(ms(took[0]), "put-ms")
	b.ReportMetric(ms(took[1]), "floor-ms")
	b.ReportMetric(float64(took[1])/float64(took[0]), "of-floor")
}

// benchmarkPutVsFloor is putVsFloor with Put reading from memory.
func benchmarkPutVsFloor(b *testing.B, size int) {
	s := newTestBlobStore(b, BlobOptions{})
	putVsFloor(b, size, s, func(data []byte) (sum.Hash, error) {
		info, _, err := s.Put(context.Background(), bytes.NewReader(data), store.BlobInfo{ContentType: "application/octet-stream"}, nil)
		return info.Hash, err
	})
}

// benchmarkPutHTTPVsFloor is putVsFloor with the bytes arriving as the
// body of an HTTP PUT over loopback TCP, as apie-serve gets them: the time
// of a Put is the client's for the whole request.
func benchmarkPutHTTPVsFloor(b *testing.B, size int) {
	s := newTestBlobStore(b, BlobOptions{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, _, err := s.Put(r.Context(), r.Body, store.BlobInfo{ContentType: r.Header.Get("Content-Type")}, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, info.Hash.String())
	}))
	defer srv.Close()
	putVsFloor(b, size, s, func(data []byte) (sum.Hash, error) {
		req, err := http.NewRequest(http.MethodPut, srv.URL, bytes.NewReader(data))
		if err != nil {
			return sum.Hash{}, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := srv.Client().Do(req)
		if err != nil {
			return sum.Hash{}, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return sum.Hash{}, err
		}
		if resp.StatusCode != http.StatusOK {
			return sum.Hash{}, fmt.Errorf("PUT: %s %q", resp.Status, body)
		}
		return sum.Parse(string(body))
	})
}

func BenchmarkPutVsFloor64KiB(b *testing.B)     { benchmarkPutVsFloor(b, 64<<10) }
func BenchmarkPutVsFloor1MiB(b *testing.B)      { benchmarkPutVsFloor(b, 1<<20) }
func BenchmarkPutHTTPVsFloor1MiB(b *testing.B)  { benchmarkPutHTTPVsFloor(b, 1<<20) }
func BenchmarkPutHTTPVsFloor64MiB(b *testing.B) { benchmarkPutHTTPVsFloor(b, 64<<20) }
func BenchmarkPut1MiB(b *testing.B)             { benchmarkPut(b, 1<<20) }
func BenchmarkPut64MiB(b *testing.B)            { benchmarkPut(b, 64<<20) }
func BenchmarkPutFloor1MiB(b *testing.B)        { benchmarkPutFloor(b, 1<<20) }
func BenchmarkPutFloor64MiB(b *testing.B)       { benchmarkPutFloor(b, 64<<20) }
