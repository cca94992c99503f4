package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"apie/store"
	"apie/sum"
)

// BlobStore runs the conformance suite for blob stores. open returns a new,
// empty store for each subtest that takes blobs of at least 1 MiB, and
// arranges (t.Cleanup) for it to be closed.
func BlobStore(t *testing.T, open func(t *testing.T) store.BlobStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b store.BlobStore)
	}{
		{"PutOpen", testPutOpen},
		{"OpenRanges", testOpenRanges},
		{"PutEmpty", testPutEmpty},
		{"PutIdempotent", testPutIdempotent},
		{"PutExpectedHash", testPutExpectedHash},
		{"PutBadName", testPutBadName},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"Verify", testVerify},
		{"ConcurrentSamePut", testConcurrentSamePut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// blobBytes returns n bytes that differ with seed.
func blobBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

func mustPut(t *testing.T, b store.BlobStore, data []byte, meta store.BlobInfo) store.BlobInfo {
	t.Helper()
	info, _, err := b.Put(context.Background(), bytes.NewReader(data), meta, nil)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return info
}

// checkBlob checks that Open serves exactly data, with info.
func checkBlob(t *testing.T, b store.BlobStore, data []byte, want store.BlobInfo) {
	t.Helper()
	r, info, err := b.Open(context.Background(), sum.Of(data))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	if info != want {
		t.Errorf("Open: got info %+v, want %+v", info, want)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("Open: read: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("Open: got %d bytes, want the %d stored", len(got), len(data))
	}
}

func testPutOpen(t *testing.T, b store.BlobStore) {
	data := blobBytes(1, 300<<10)
	info, created, err := b.Put(context.Background(), bytes.NewReader(data), store.BlobInfo{ContentType: "text/plain", Filename: "notes.txt"}, nil)
	if err != nil || !created {
		t.Fatalf("Put: got created=%v, %v; want true, nil", created, err)
	}
	if info.Hash != sum.Of(data) || info.Size != int64(len(data)) || info.ContentType != "text/plain" ||
		info.Filename != "notes.txt" || info.Created.IsZero() {
		t.Fatalf("Put: got info %+v, want the bytes' hash and size, the given type and name, a creation time", info)
	}
	checkBlob(t, b, data, info)
}

// testOpenRanges: the reader seeks, so a range costs only its bytes.
func testOpenRanges(t *testing.T, b store.BlobStore) {
	data := blobBytes(2, 100<<10)
	mustPut(t, b, data, store.BlobInfo{})
	r, _, err := b.Open(context.Background(), sum.Of(data))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, rng := range [][2]int64{{0, 10}, {5000, 70000}, {int64(len(data)) - 1, int64(len(data))}, {17, 18}} {
		if off, err := r.Seek(rng[0], io.SeekStart); err != nil || off != rng[0] {
			t.Fatalf("Seek(%d): got %d, %v", rng[0], off, err)
		}
		got := make([]byte, rng[1]-rng[0])
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("read [%d, %d): %v", rng[0], rng[1], err)
		}
		if !bytes.Equal(got, data[rng[0]:rng[1]]) {
			t.Fatalf("read [%d, %d): wrong bytes", rng[0], rng[1])
		}
	}
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
		t.Fatalf("Seek to the end: got %d, %v; want %d", end, err, len(data))
	}
}

func testPutEmpty(t *testing.T, b store.BlobStore) {
	info := mustPut(t, b, nil, store.BlobInfo{})
	if info.Hash != sum.Genesis || info.Size != 0 {
		t.Fatalf("got %+v, want the hash of no bytes and size 0", info)
	}
	checkBlob(t, b, nil, info)
}

// testPutIdempotent: storing bytes already stored succeeds, reports
// created == false and keeps the first upload's info.
func testPutIdempotent(t *testing.T, b store.BlobStore) {
	data := []byte("stored twice")
	first := mustPut(t, b, data, store.BlobInfo{ContentType: "text/plain", Filename: "first.txt"})
	second, created, err := b.Put(context.Background(), bytes.NewReader(data), store.BlobInfo{ContentType: "image/png", Filename: "second.png"}, nil)
	if err != nil || created {
		t.Fatalf("second Put: got created=%v, %v; want false, nil", created, err)
	}
	if second != first {
		t.Fatalf("second Put: got info %+v, want the first's %+v", second, first)
	}
	checkBlob(t, b, data, first)
}

func testPutExpectedHash(t *testing.T, b store.BlobStore) {
	ctx := context.Background()
	data := []byte("the bytes a client promised")
	right, wrong := sum.Of(data), sum.Of([]byte("other bytes"))
	if _, _, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{}, &wrong); !errors.Is(err, store.ErrHashMismatch) {
		t.Fatalf("Put with the wrong hash: got %v, want ErrHashMismatch", err)
	}
	if _, _, err := b.Open(ctx, right); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Open after a mismatched Put: got %v, want ErrNotFound (nothing kept)", err)
	}
	if _, _, err := b.Open(ctx, wrong); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Open of the promised hash after a mismatched Put: got %v, want ErrNotFound", err)
	}
	info, created, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{}, &right)
	if err != nil || !created || info.Hash != right {
		t.Fatalf("Put with the right hash: got %s created=%v, %v", info.Hash, created, err)
	}
}

func testPutBadName(t *testing.T, b store.BlobStore) {
	ctx := context.Background()
	for _, name := range []string{"a/b", "..", "line\nbreak", "\xff"} {
		if _, _, err := b.Put(ctx, bytes.NewReader([]byte(name)), store.BlobInfo{Filename: name}, nil); !errors.Is(err, store.ErrBadName) {
			t.Errorf("Put with filename %q: got %v, want ErrBadName", name, err)
		}
		if _, _, err := b.Open(ctx, sum.Of([]byte(name))); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Open after a refused Put: got %v, want ErrNotFound", err)
		}
	}
}

func testMissing(t *testing.T, b store.BlobStore) {
	h := sum.Of([]byte("never stored"))
	if _, _, err := b.Open(context.Background(), h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Open: got %v, want ErrNotFound", err)
	}
	if err := b.Delete(context.Background(), h); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete: got %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, b store.BlobStore) {
	ctx := context.Background()
	keep, gone := []byte("kept"), []byte("deleted")
	kept := mustPut(t, b, keep, store.BlobInfo{})
	mustPut(t, b, gone, store.BlobInfo{})
	if err := b.Delete(ctx, sum.Of(gone)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := b.Open(ctx, sum.Of(gone)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Open after Delete: got %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, sum.Of(gone)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete again: got %v, want ErrNotFound", err)
	}
	checkBlob(t, b, keep, kept)
	// Stored again after a delete, the bytes are new again.
	if _, created, err := b.Put(ctx, bytes.NewReader(gone), store.BlobInfo{}, nil); err != nil || !created {
		t.Fatalf("Put after Delete: got created=%v, %v; want true, nil", created, err)
	}
}

func testVerify(t *testing.T, b store.BlobStore) {
	rep, err := b.Verify(context.Background(), false)
	if err != nil || rep.Blobs != 0 || rep.Bytes != 0 || len(rep.Bad) != 0 {
		t.Fatalf("Verify of an empty store: got %+v, %v", rep, err)
	}
	var size int64
	for i := range 3 {
		data := blobBytes(byte(10+i), 1000*(i+1))
		mustPut(t, b, data, store.BlobInfo{})
		size += int64(len(data))
	}
	rep, err = b.Verify(context.Background(), false)
	if err != nil || rep.Blobs != 3 || rep.Bytes != size || len(rep.Bad) != 0 {
		t.Fatalf("Verify: got %+v, %v; want 3 blobs, %d bytes, nothing bad", rep, err, size)
	}
}

// testConcurrentSamePut: of concurrent Puts of the same bytes exactly one
// reports created.
func testConcurrentSamePut(t *testing.T, b store.BlobStore) {
	const n = 8
	data := blobBytes(3, 1<<20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range n {
		wg.Go(func() {
			info, c, err := b.Put(context.Background(), bytes.NewReader(data), store.BlobInfo{}, nil)
			if err != nil || info.Hash != sum.Of(data) {
				t.Errorf("Put: got %s, %v", info.Hash, err)
				return
			}
			mu.Lock()
			if c {
				created++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d of %d concurrent Puts of the same bytes reported created, want 1", created, n)
	}
}
