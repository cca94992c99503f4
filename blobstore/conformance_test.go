package blobstore_test

import (
	"context"
	"testing"

	"apie/blobstore"
	"apie/store"
	"apie/store/storetest"
)

// TestConformance runs the suite every store.BlobStore passes.
func TestConformance(t *testing.T) {
	storetest.BlobStore(t, func(t *testing.T) store.BlobStore {
		b, err := blobstore.OpenBlobStore(context.Background(), blobstore.BlobOptions{Dir: t.TempDir(), MaxBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}
