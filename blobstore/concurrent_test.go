package blobstore

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

func TestBlobConcurrentSamePut(t *testing.T) {
	const clients = 16
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	data := blobTestBytes(5, 1<<20+3)
	want := sum.Of(data)

	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		created int
		errs    []error
	)
	for i := range clients {
		wg.Go(func() {
			<-start
			info, c, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{Filename: "client" + string(rune('a'+i))}, &want)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && info.Hash != want {
				err = errors.New("wrong hash " + info.Hash.String())
			}
			if err != nil {
				errs = append(errs, err)
			}
			if c {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		t.Errorf("Put: %v", err)
	}
	if created != 1 {
		t.Errorf("got %d Puts reporting created, want exactly 1", created)
	}
	f, _, err := b.Open(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("got %d bytes stored, want the %d put", len(got), len(data))
	}
	if got, want := len(storedFiles(t, b.dir)), 2; got != want {
		t.Errorf("got %d stored files, want %d", got, want)
	}
	assertNoTemp(t, b)
}

// TestBlobConcurrentPutDelete runs Puts and Deletes of a few blobs against
// each other (for the race detector and the lock): every operation ends in
// success or store.ErrNotFound, and what remains is intact with its metadata.
func TestBlobConcurrentPutDelete(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	blobs := [][]byte{blobTestBytes(6, 1000), blobTestBytes(7, 70000), blobTestBytes(8, 300000)}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				data := blobs[(w+i)%len(blobs)]
				if (w+i)%3 == 0 {
					if err := b.Delete(ctx, sum.Of(data)); err != nil && !errors.Is(err, store.ErrNotFound) {
						t.Errorf("Delete: %v", err)
					}
					continue
				}
				if _, _, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{}, nil); err != nil {
					t.Errorf("Put: %v", err)
				}
			}
		})
	}
	wg.Wait()
	rep, err := b.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 0 {
		t.Errorf("got bad blobs %+v, want none", rep.Bad)
	}
	assertNoTemp(t, b)
}

// assertNoTemp fails if an upload's temp file is left in tmp/.
func assertNoTemp(t testing.TB, b *BlobStore) {
	t.Helper()
	names, err := tempNames(b.tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("got temp files %q, want none", names)
	}
}
