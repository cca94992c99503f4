package s3store_test

import (
	"context"
	"fmt"
	"testing"

	"apie/internal/s3test"
	"apie/s3store"
	"apie/store"
	"apie/store/storetest"
)

// options returns the options of a store in the server's bucket "apie"
// under a prefix of its own.
func options(s *s3test.Server, n int) s3store.Options {
	return s3store.Options{
		Endpoint: s.Endpoint, Bucket: "apie", AccessKey: s.AccessKey, SecretKey: s.SecretKey,
		Prefix: fmt.Sprintf("t%d/", n), CreateBucket: true,
	}
}

// TestConformance runs the suite every store.BlobStore passes, against a
// real MinIO, each subtest under a prefix of its own.
func TestConformance(t *testing.T) {
	s := s3test.Start(t)
	n := 0
	storetest.BlobStore(t, func(t *testing.T) store.BlobStore {
		n++
		opts := options(s, n)
		opts.MaxBytes = 1 << 20
		opts.TempDir = t.TempDir()
		b, err := s3store.Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}
