package sum

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"testing"

	simd "github.com/minio/sha256-simd"
)

// The two SHA-256 implementations apie could put behind Of and New: the
// standard library's (which uses the SHA-NI instructions where the CPU has
// them) and github.com/minio/sha256-simd (SHA-NI, AVX-512 and AVX2 paths of
// its own). BENCHMARKS.md records which wins here and why sum keeps it.
var impls = []struct {
	name  string
	sum   func([]byte) [Size]byte
	newFn func() hash.Hash
}{
	{"stdlib", sha256.Sum256, sha256.New},
	{"sha256-simd", simd.Sum256, simd.New},
}

// benchSizes are the sizes the issue names: an event header (64 B), a
// typical event record (1 KiB) and a blob chunk (1 MiB).
var benchSizes = []int{64, 1 << 10, 1 << 20}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// TestImplsAgree checks that both implementations give the same digest as
// Of and New at every benchmarked size and at the block-boundary sizes
// around them, so the benchmark compares equal work.
func TestImplsAgree(t *testing.T) {
	sizes := append([]int{0, 1, 55, 56, 63, 65, 127, 128}, benchSizes...)
	for _, n := range sizes {
		data := pattern(n)
		want := Of(data)
		for _, im := range impls {
			t.Run(im.name+"/"+sizeName(n)+fmt.Sprint(n), func(t *testing.T) {
				if got := Hash(im.sum(data)); got != want {
					t.Fatalf("Sum256: got %q, want %q", got, want)
				}
				h := im.newFn()
				// Write in uneven pieces to exercise the streaming path.
				for rest := data; len(rest) > 0; {
					k := min(len(rest), 1000)
					h.Write(rest[:k])
					rest = rest[k:]
				}
				if got := FromDigest(h.Sum(nil)); got != want {
					t.Fatalf("streaming: got %q, want %q", got, want)
				}
			})
		}
	}
	if !bytes.Equal(New().Sum(nil), Genesis[:]) {
		t.Fatalf("New of nothing: got %x, want %q", New().Sum(nil), Genesis)
	}
}

// BenchmarkSum256 compares one-shot hashing (how event and body hashes are
// computed) across implementations and sizes.
func BenchmarkSum256(b *testing.B) {
	for _, n := range benchSizes {
		data := pattern(n)
		for _, im := range impls {
			b.Run(sizeName(n)+"/"+im.name, func(b *testing.B) {
				b.SetBytes(int64(n))
				var h [Size]byte
				for b.Loop() {
					h = im.sum(data)
				}
				_ = h
			})
		}
		b.Run(sizeName(n)+"/sum.Of", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				_ = Of(data)
			}
		})
	}
}

// BenchmarkStream compares streaming hashing in 32 KiB writes (how blobs
// are hashed while they are copied to disk).
func BenchmarkStream(b *testing.B) {
	const chunk = 32 << 10
	data := pattern(1 << 20)
	for _, im := range impls {
		b.Run("1MiB/"+im.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			buf := make([]byte, 0, Size)
			for b.Loop() {
				h := im.newFn()
				for off := 0; off < len(data); off += chunk {
					h.Write(data[off : off+chunk])
				}
				buf = h.Sum(buf[:0])
			}
		})
	}
}
