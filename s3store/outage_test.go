package s3store_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"apie/internal/s3test"
	"apie/s3store"
	"apie/store"
)

// TestServerDownIsUnavailable: with the object store stopped, Put, Open
// and Delete fail with store.ErrUnavailable (the HTTP layer's 503 with
// Retry-After), not an anonymous error.
func TestServerDownIsUnavailable(t *testing.T) {
	s3 := s3test.Start(t)
	ctx := context.Background()
	if err := s3.MakeBucket(ctx, "down"); err != nil {
		t.Fatal(err)
	}
	b, err := s3store.Open(ctx, s3store.Options{Endpoint: s3.Endpoint, Bucket: "down", AccessKey: s3.AccessKey, SecretKey: s3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	info, _, err := b.Put(ctx, strings.NewReader("kept"), store.BlobInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s3.Proc.Stop(t, syscall.SIGTERM, 30*time.Second)
	if _, _, err := b.Put(ctx, strings.NewReader("new"), store.BlobInfo{}, nil); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Put with the server down: got %v, want ErrUnavailable", err)
	}
	if _, _, err := b.Open(ctx, info.Hash); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open with the server down: got %v, want ErrUnavailable", err)
	}
	if err := b.Delete(ctx, info.Hash); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Delete with the server down: got %v, want ErrUnavailable", err)
	}
}
