package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"apie/store"
)

func TestBlobClosed(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	info, _, err := b.Put(ctx, strings.NewReader("x"), store.BlobInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Put":    func() error { _, _, err := b.Put(ctx, strings.NewReader("y"), store.BlobInfo{}, nil); return err },
		"Open":   func() error { _, _, err := b.Open(ctx, info.Hash); return err },
		"Stat":   func() error { _, err := b.Stat(ctx, info.Hash); return err },
		"Delete": func() error { return b.Delete(ctx, info.Hash) },
		"Verify": func() error { _, err := b.Verify(ctx, false); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, store.ErrClosed) {
				t.Errorf("got %v, want store.ErrClosed", err)
			}
		})
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}

func TestOpenBlobStoreFormat(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "blobs")
	b, err := OpenBlobStore(ctx, BlobOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	got, err := os.ReadFile(filepath.Join(dir, blobFormatName))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != blobFormat {
		t.Errorf("got format %q, want %q", got, blobFormat)
	}
	for _, d := range []string{dir, filepath.Join(dir, blobTmpName)} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), DefaultDirMode; got != want {
			t.Errorf("%s: got mode %v, want %v", d, got, want)
		}
	}
	b, err = OpenBlobStore(ctx, BlobOptions{Dir: dir})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	b.Close()

	tests := []struct{ name, content string }{
		{"future version", "apie-blobstore 2\n"},
		{"empty", ""},
		{"no newline", "apie-blobstore 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, blobFormatName), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if b, err := OpenBlobStore(ctx, BlobOptions{Dir: dir}); err == nil {
				b.Close()
				t.Fatalf("got nil error opening format %q, want an error", tt.content)
			}
		})
	}
}

func TestOpenBlobStoreCleansTemp(t *testing.T) {
	dir := t.TempDir()
	b := newTestBlobStore(t, BlobOptions{Dir: dir})
	b.Close()
	old := time.Now().Add(-2 * time.Hour)
	files := []struct {
		name     string
		mtime    time.Time
		wantKept bool
	}{
		{"abandoned.part", old, false},
		{"fresh.part", time.Now(), true},
		{"not-an-upload.txt", old, true},
	}
	for _, f := range files {
		p := filepath.Join(dir, blobTmpName, f.name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	newTestBlobStore(t, BlobOptions{Dir: dir})
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, blobTmpName, f.name))
		if kept := err == nil; kept != f.wantKept {
			t.Errorf("%s: got kept=%v, want %v", f.name, kept, f.wantKept)
		}
	}
	// A shorter threshold takes the fresh one too.
	newTestBlobStore(t, BlobOptions{Dir: dir, staleTemp: time.Nanosecond})
	if _, err := os.Stat(filepath.Join(dir, blobTmpName, "fresh.part")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("fresh.part with a 1ns threshold: got %v, want it removed", err)
	}
}

func TestBlobMissingMetadata(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	data := []byte("metadata lost")
	info, _, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{ContentType: "text/plain", Filename: "a.txt"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b.metaPath(info.Hash)); err != nil {
		t.Fatal(err)
	}
	got, err := b.Stat(ctx, info.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContentType != defaultContentType || got.Filename != "" || got.Size != int64(len(data)) {
		t.Errorf("got %+v, want defaults with size %d", got, len(data))
	}
	// A second upload restores metadata.
	again, created, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{ContentType: "text/markdown", Filename: "b.md"}, nil)
	if err != nil || created {
		t.Fatalf("got created=%v, %v; want false, nil", created, err)
	}
	if again.Filename != "b.md" || again.ContentType != "text/markdown" {
		t.Errorf("got %+v, want the new upload's metadata", again)
	}
	if got, err := b.Stat(ctx, info.Hash); err != nil || got != again {
		t.Errorf("Stat: got %+v, %v; want %+v", got, err, again)
	}
}
