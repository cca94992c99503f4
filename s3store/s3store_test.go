package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"apie/internal/s3test"
	"apie/s3store"
	"apie/store"
	"apie/sum"
)

func openStore(t *testing.T, opts s3store.Options) *s3store.BlobStore {
	t.Helper()
	b, err := s3store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMetadataKept: a filename outside ASCII and a content type with
// parameters come back as they were put.
func TestMetadataKept(t *testing.T) {
	s := s3test.Start(t)
	b := openStore(t, options(s, 1))
	data := []byte("résumé")
	meta := store.BlobInfo{ContentType: "text/plain; charset=utf-8", Filename: "résumé 2026 — final.txt"}
	put, _, err := b.Put(context.Background(), bytes.NewReader(data), meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, info, err := b.Open(context.Background(), sum.Of(data))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if info != put || info.Filename != meta.Filename || info.ContentType != meta.ContentType {
		t.Fatalf("Open: got %+v, want %+v", info, put)
	}
}

// TestTooLarge: more than MaxBytes is refused, nothing is kept, and the
// spool file is gone.
func TestTooLarge(t *testing.T) {
	s := s3test.Start(t)
	opts := options(s, 1)
	opts.MaxBytes, opts.TempDir = 10, t.TempDir()
	b := openStore(t, opts)
	data := []byte("eleven bytes")
	if _, _, err := b.Put(context.Background(), bytes.NewReader(data), store.BlobInfo{}, nil); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if _, _, err := b.Open(context.Background(), sum.Of(data)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Open: got %v, want ErrNotFound", err)
	}
	if ents, _ := os.ReadDir(opts.TempDir); len(ents) != 0 {
		t.Fatalf("spool files left: %v", ents)
	}
}

// TestVerifyFindsDamage: an object whose bytes do not hash to its name and
// an object that is not a blob are reported; the sound blob is not.
func TestVerifyFindsDamage(t *testing.T) {
	s := s3test.Start(t)
	opts := options(s, 1)
	b := openStore(t, opts)
	ctx := context.Background()
	good := []byte("sound")
	if _, _, err := b.Put(ctx, bytes.NewReader(good), store.BlobInfo{}, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	named := sum.Of([]byte("what the name promises")).String()
	put := func(key, body string) {
		if _, err := raw.PutObject(ctx, opts.Bucket, opts.Prefix+key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(named[:2]+"/"+named, "other bytes")
	put("stray.txt", "x")
	rep, err := b.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 2 || len(rep.Bad) != 2 {
		t.Fatalf("got %+v, want 2 blobs and 2 problems", rep)
	}
	if rep.Bad[0].Hash != named || rep.Bad[1].Path != "stray.txt" {
		t.Fatalf("got problems %+v, want the mismatched blob then the stray object", rep.Bad)
	}
}
