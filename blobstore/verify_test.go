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
	"apie/sum"
)

func TestBlobVerify(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	var hashes []sum.Hash
	var total int64
	for i, n := range []int{10, 5000, 3*blobBufSize + 1} {
		data := blobTestBytes(uint64(10+i), n)
		info, _, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, info.Hash)
		total += int64(n)
	}
	rep, err := b.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 3 || rep.Bytes != total || len(rep.Bad) != 0 {
		t.Fatalf("clean store: got %+v, want 3 blobs, %d bytes, nothing bad", rep, total)
	}

	// Tamper with the last blob: make it writable and flip a byte.
	tampered := b.blobPath(hashes[2])
	if err := os.Chmod(tampered, 0o640); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(tampered)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(tampered, data, 0o640); err != nil {
		t.Fatal(err)
	}
	// Lose the first blob's metadata, and leave stray files.
	if err := os.Remove(b.metaPath(hashes[0])); err != nil {
		t.Fatal(err)
	}
	hh := hashes[1].String()[:2]
	strays := []string{"notes.txt", hh + "/" + hashes[1].String() + ".bak", "zz"}
	for _, s := range strays {
		if err := os.WriteFile(filepath.Join(b.dir, s), []byte("stray"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// What a crash leaves is not damage.
	orphan := sum.Of([]byte("never linked"))
	if err := b.ensureDir(filepath.Dir(b.metaPath(orphan)), false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.metaPath(orphan), []byte("{}"), 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.tmp, "123.part"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	rep, err = b.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != 3 || rep.Bytes != total {
		t.Errorf("got %d blobs, %d bytes, want 3, %d", rep.Blobs, rep.Bytes, total)
	}
	want := map[string]string{
		hashes[0].String()[:2] + "/" + hashes[0].String(): "missing metadata",
		hashes[2].String()[:2] + "/" + hashes[2].String(): "content hashes to " + sum.Of(data).String(),
	}
	for _, s := range strays {
		want[s] = "stray file"
	}
	got := map[string]string{}
	for _, bad := range rep.Bad {
		got[bad.Path] = bad.Reason
		if strings.HasSuffix(bad.Path, "/"+bad.Hash) == (bad.Hash == "") {
			t.Errorf("%s: got Hash %q, want the blob's name for a blob and \"\" for a stray", bad.Path, bad.Hash)
		}
	}
	for path, reason := range want {
		if got[path] != reason {
			t.Errorf("%s: got reason %q, want %q", path, got[path], reason)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d bad entries %+v, want %d", len(got), rep.Bad, len(want))
	}
}

func TestBlobVerifyFixModes(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{FileMode: 0o400, DirMode: 0o700})
	info, _, err := b.Put(ctx, strings.NewReader("modes"), store.BlobInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	paths := []struct {
		path string
		want fs.FileMode
	}{
		{b.dir, 0o700},
		{b.tmp, 0o700},
		{filepath.Dir(b.blobPath(info.Hash)), 0o700},
		{b.blobPath(info.Hash), 0o400},
		{b.metaPath(info.Hash), 0o400},
		{filepath.Join(b.dir, blobFormatName), 0o400},
	}
	for _, p := range paths {
		if err := os.Chmod(p.path, p.want|0o055); err != nil {
			t.Fatal(err)
		}
	}
	for _, fix := range []bool{false, true} {
		if _, err := b.Verify(ctx, fix); err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			fi, err := os.Stat(p.path)
			if err != nil {
				t.Fatal(err)
			}
			want := p.want | 0o055
			if fix {
				want = p.want
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("fixModes=%v: %s: got mode %v, want %v", fix, p.path, got, want)
			}
		}
	}
}

func TestBlobVerifyRemovesStaleAtomicTemp(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	info, _, err := b.Put(ctx, strings.NewReader("x"), store.BlobInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(b.blobPath(info.Hash))
	stale := filepath.Join(dir, "."+info.Hash.String()+".meta.tmp-1")
	fresh := filepath.Join(dir, "."+info.Hash.String()+".meta.tmp-2")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	rep, err := b.Verify(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 0 {
		t.Errorf("got bad %+v, want none", rep.Bad)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp: got %v, want it removed", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp: got %v, want it kept", err)
	}
}

func TestBlobVerifyCancelled(t *testing.T) {
	b := newTestBlobStore(t, BlobOptions{})
	if _, _, err := b.Put(context.Background(), bytes.NewReader(blobTestBytes(20, 3*blobBufSize)), store.BlobInfo{}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Verify(ctx, false); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestBlobVerifyMetadataDamage(t *testing.T) {
	tests := []struct {
		name       string
		meta       string
		wantReason string
	}{
		{"size differs", `{"contentType":"text/plain","filename":"","size":99,"created":"2026-01-02T03:04:05Z"}`, "metadata records 99 bytes, blob has 5"},
		{"not JSON", `{"contentType":`, "unreadable metadata"},
		{"bad time", `{"contentType":"text/plain","filename":"","size":5,"created":"yesterday"}`, "unreadable metadata"},
		{"bad filename", `{"contentType":"text/plain","filename":"../x","size":5,"created":"2026-01-02T03:04:05Z"}`, "unreadable metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			b := newTestBlobStore(t, BlobOptions{})
			info, _, err := b.Put(ctx, strings.NewReader("hello"), store.BlobInfo{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(b.metaPath(info.Hash)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(b.metaPath(info.Hash), []byte(tt.meta), 0o440); err != nil {
				t.Fatal(err)
			}
			rep, err := b.Verify(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Bad) != 1 || !strings.HasPrefix(rep.Bad[0].Reason, tt.wantReason) {
				t.Fatalf("got bad %+v, want one with reason %q", rep.Bad, tt.wantReason)
			}
			// The bytes are still served, with the file's real size.
			got, err := b.Stat(ctx, info.Hash)
			if err != nil || got.Size != 5 {
				t.Errorf("Stat: got %+v, %v; want size 5", got, err)
			}
		})
	}
}
