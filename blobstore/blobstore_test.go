package blobstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"apie/store"
	"apie/sum"
)

// newTestBlobStore opens a store in a fresh temp directory.
func newTestBlobStore(t testing.TB, opts BlobOptions) *BlobStore {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	b, err := OpenBlobStore(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// blobTestBytes returns n reproducible pseudo-random bytes.
func blobTestBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	p := make([]byte, n)
	r.Read(p)
	return p
}

// storedFiles lists every file under the store's <hh> directories,
// relative to dir.
func storedFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || !isFanoutName(e.Name()) {
			continue
		}
		sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sub {
			out = append(out, e.Name()+"/"+s.Name())
		}
	}
	return out
}

// assertNothingKept fails unless the store holds no blob, no metadata and
// no temp file.
func assertNothingKept(t testing.TB, b *BlobStore) {
	t.Helper()
	if got := storedFiles(t, b.dir); len(got) != 0 {
		t.Errorf("got stored files %q, want none", got)
	}
	tmp, err := os.ReadDir(b.tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tmp {
		t.Errorf("got temp file %q left in tmp/, want none", e.Name())
	}
}

func TestBlobPutOpenStatDelete(t *testing.T) {
	tests := []struct {
		name        string
		data        []byte
		contentType string
		filename    string
	}{
		{"empty", nil, "", ""},
		{"small", []byte("hello, world\n"), "text/plain; charset=utf-8", "hello.txt"},
		{"one buffer", blobTestBytes(1, blobBufSize), "application/pdf", "report.pdf"},
		{"several buffers", blobTestBytes(2, 3*blobBufSize+7), "image/png", "ünïcødé photo.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			b := newTestBlobStore(t, BlobOptions{})
			before := time.Now().Add(-time.Second)
			info, created, err := b.Put(ctx, bytes.NewReader(tt.data), store.BlobInfo{ContentType: tt.contentType, Filename: tt.filename}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !created {
				t.Errorf("got created false, want true")
			}
			want := store.BlobInfo{Hash: sum.Of(tt.data), Size: int64(len(tt.data)), ContentType: contentTypeOf(tt.contentType), Filename: tt.filename, Created: info.Created}
			if info != want {
				t.Errorf("got info %+v, want %+v", info, want)
			}
			if info.Created.Before(before) || info.Created.After(time.Now()) {
				t.Errorf("got created time %v, want about now", info.Created)
			}

			f, got, err := b.Open(ctx, info.Hash)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, tt.data) {
				t.Errorf("got %d bytes back, want the %d stored", len(body), len(tt.data))
			}
			if got != info {
				t.Errorf("Open: got info %+v, want %+v", got, info)
			}
			if got, err := b.Stat(ctx, info.Hash); err != nil || got != info {
				t.Errorf("Stat: got %+v, %v, want %+v", got, err, info)
			}
			fi, err := os.Stat(b.blobPath(info.Hash))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fi.Mode().Perm(), DefaultFileMode; got != want {
				t.Errorf("got blob mode %q, want %q", got, want)
			}
			if _, err := os.Stat(b.metaPath(info.Hash)); err != nil {
				t.Errorf("metadata file: %v", err)
			}

			if err := b.Delete(ctx, info.Hash); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Stat(ctx, info.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Stat after Delete: got %v, want store.ErrNotFound", err)
			}
			if _, _, err := b.Open(ctx, info.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Open after Delete: got %v, want store.ErrNotFound", err)
			}
			if err := b.Delete(ctx, info.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second Delete: got %v, want store.ErrNotFound", err)
			}
			assertNothingKept(t, b)
		})
	}
}

func TestBlobPutExpectedHash(t *testing.T) {
	data := []byte("the bytes a client promised")
	right := sum.Of(data)
	wrong := sum.Of([]byte("other bytes"))
	tests := []struct {
		name    string
		want    sum.Hash
		wantErr error
	}{
		{"match", right, nil},
		{"mismatch", wrong, store.ErrHashMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{})
			info, created, err := b.Put(context.Background(), bytes.NewReader(data), store.BlobInfo{}, &tt.want)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertNothingKept(t, b)
				return
			}
			if !created || info.Hash != right {
				t.Errorf("got %s created=%v, want %s created=true", info.Hash, created, right)
			}
		})
	}
}

func TestBlobPutTooLarge(t *testing.T) {
	const limit = 100
	tests := []struct {
		size    int
		wantErr error
	}{
		{0, nil},
		{limit - 1, nil},
		{limit, nil},
		{limit + 1, store.ErrTooLarge},
		{2*blobBufSize + 1, store.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.size), func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{MaxBytes: limit})
			_, _, err := b.Put(context.Background(), bytes.NewReader(blobTestBytes(3, tt.size)), store.BlobInfo{}, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertNothingKept(t, b)
			}
		})
	}
}

func TestBlobPutIdempotent(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	data := []byte("stored twice")
	first, created, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{ContentType: "text/plain", Filename: "first.txt"}, nil)
	if err != nil || !created {
		t.Fatalf("first Put: got created=%v, %v; want true, nil", created, err)
	}
	metaBefore, err := os.ReadFile(b.metaPath(first.Hash))
	if err != nil {
		t.Fatal(err)
	}
	second, created, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{ContentType: "image/png", Filename: "second.png"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Errorf("second Put: got created true, want false")
	}
	if second != first {
		t.Errorf("second Put: got info %+v, want the first's %+v", second, first)
	}
	metaAfter, err := os.ReadFile(b.metaPath(first.Hash))
	if err != nil {
		t.Fatal(err)
	}
	if string(metaAfter) != string(metaBefore) {
		t.Errorf("got metadata %q after second Put, want unchanged %q", metaAfter, metaBefore)
	}
	if got, want := len(storedFiles(t, b.dir)), 2; got != want {
		t.Errorf("got %d stored files, want %d (blob and metadata)", got, want)
	}
}

type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

// errReader fails after n bytes.
type errReader struct{ n int }

var errBroken = errors.New("connection reset")

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errBroken
	}
	n := min(len(p), e.n)
	clear(p[:n])
	e.n -= n
	return n, nil
}

func TestBlobPutFailures(t *testing.T) {
	tests := []struct {
		name    string
		reader  func(cancel context.CancelFunc) io.Reader
		wantErr error
	}{
		{"cancelled mid-upload", func(cancel context.CancelFunc) io.Reader {
			return &cancelReader{r: bytes.NewReader(blobTestBytes(4, 4*blobBufSize)), cancel: cancel}
		}, context.Canceled},
		{"reader fails", func(context.CancelFunc) io.Reader { return &errReader{n: 3 * blobBufSize} }, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, _, err := b.Put(ctx, tt.reader(cancel), store.BlobInfo{}, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			assertNothingKept(t, b)
		})
	}
}

func TestBlobPutWriteError(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantNoSpace bool
	}{
		{"ENOSPC", syscall.ENOSPC, true},
		{"EDQUOT", syscall.EDQUOT, true},
		{"EIO", syscall.EIO, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{})
			writes := 0
			b.testWriteErr = func() error {
				if writes++; writes > 2 {
					return tt.err
				}
				return nil
			}
			_, _, err := b.Put(context.Background(), bytes.NewReader(blobTestBytes(9, 5*blobBufSize)), store.BlobInfo{}, nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.err)
			}
			if got := errors.Is(err, store.ErrNoSpace); got != tt.wantNoSpace {
				t.Errorf("got errors.Is(err, store.ErrNoSpace) = %v, want %v (err: %v)", got, tt.wantNoSpace, err)
			}
			assertNothingKept(t, b)
		})
	}
}
