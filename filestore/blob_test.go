package filestore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
			info, created, err := b.Put(ctx, bytes.NewReader(tt.data), BlobInfo{ContentType: tt.contentType, Filename: tt.filename}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !created {
				t.Errorf("got created false, want true")
			}
			want := BlobInfo{Hash: sum.Of(tt.data), Size: int64(len(tt.data)), ContentType: contentTypeOf(tt.contentType), Filename: tt.filename, Created: info.Created}
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
			if got, want := fi.Mode().Perm(), defaultBlobFileMode; got != want {
				t.Errorf("got blob mode %q, want %q", FormatMode(got), FormatMode(want))
			}
			if _, err := os.Stat(b.metaPath(info.Hash)); err != nil {
				t.Errorf("metadata file: %v", err)
			}

			if err := b.Delete(ctx, info.Hash); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Stat(ctx, info.Hash); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat after Delete: got %v, want ErrNotFound", err)
			}
			if _, _, err := b.Open(ctx, info.Hash); !errors.Is(err, ErrNotFound) {
				t.Errorf("Open after Delete: got %v, want ErrNotFound", err)
			}
			if err := b.Delete(ctx, info.Hash); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Delete: got %v, want ErrNotFound", err)
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
		{"mismatch", wrong, ErrHashMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{})
			info, created, err := b.Put(context.Background(), bytes.NewReader(data), BlobInfo{}, &tt.want)
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
		{limit + 1, ErrTooLarge},
		{2*blobBufSize + 1, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.size), func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{MaxBytes: limit})
			_, _, err := b.Put(context.Background(), bytes.NewReader(blobTestBytes(3, tt.size)), BlobInfo{}, nil)
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
	first, created, err := b.Put(ctx, bytes.NewReader(data), BlobInfo{ContentType: "text/plain", Filename: "first.txt"}, nil)
	if err != nil || !created {
		t.Fatalf("first Put: got created=%v, %v; want true, nil", created, err)
	}
	metaBefore, err := os.ReadFile(b.metaPath(first.Hash))
	if err != nil {
		t.Fatal(err)
	}
	second, created, err := b.Put(ctx, bytes.NewReader(data), BlobInfo{ContentType: "image/png", Filename: "second.png"}, nil)
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

func TestBlobPutBadFilename(t *testing.T) {
	tests := []struct {
		name     string
		filename string
	}{
		{"NUL", "a\x00b"},
		{"slash", "dir/file"},
		{"leading slash", "/etc/passwd"},
		{"dotdot", ".."},
		{"dot", "."},
		{"invalid UTF-8", "caf\xe9"},
		{"newline", "a\nb"},
		{"carriage return", "a\rb"},
		{"DEL", "a\x7fb"},
		{"C1 control", "a\u0085b"},
		{"300 bytes", strings.Repeat("a", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{})
			_, _, err := b.Put(context.Background(), strings.NewReader("content"), BlobInfo{Filename: tt.filename}, nil)
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("got error %v, want ErrBadName", err)
			}
			assertNothingKept(t, b)
		})
	}
}

func TestCheckFilenameAccepts(t *testing.T) {
	for _, name := range []string{"", "a", "report.pdf", ".hidden", "...", "a b", "ünïcødé.txt", "日本語.txt", `back\slash`, strings.Repeat("a", 255), strings.Repeat("é", 127)} {
		t.Run(name, func(t *testing.T) {
			if err := checkFilename(name); err != nil {
				t.Errorf("got %v for %q, want nil", err, name)
			}
		})
	}
}

func TestContentTypeOf(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", defaultContentType},
		{"text/plain", "text/plain"},
		{"text/plain; charset=utf-8", "text/plain; charset=utf-8"},
		{"  image/png  ", "image/png"},
		{"application/vnd.api+json", "application/vnd.api+json"},
		{"text", defaultContentType},
		{"text/", defaultContentType},
		{"/plain", defaultContentType},
		{"text/plain; charset", defaultContentType},
		{"text/plain\r\nX-Evil: 1", defaultContentType},
		{"text/plain; name=\"a\x00b\"", defaultContentType},
		{"text/plain; name=\"é\"", defaultContentType},
		{"text/" + strings.Repeat("a", 300), defaultContentType},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := contentTypeOf(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// cancelReader cancels its context after the first read, so the next
// buffer copy must notice.
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
			_, _, err := b.Put(ctx, tt.reader(cancel), BlobInfo{}, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			assertNothingKept(t, b)
		})
	}
}

func TestBlobClosed(t *testing.T) {
	ctx := context.Background()
	b := newTestBlobStore(t, BlobOptions{})
	info, _, err := b.Put(ctx, strings.NewReader("x"), BlobInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Put":    func() error { _, _, err := b.Put(ctx, strings.NewReader("y"), BlobInfo{}, nil); return err },
		"Open":   func() error { _, _, err := b.Open(ctx, info.Hash); return err },
		"Stat":   func() error { _, err := b.Stat(ctx, info.Hash); return err },
		"Delete": func() error { return b.Delete(ctx, info.Hash) },
		"Verify": func() error { _, err := b.Verify(ctx, false); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrClosed) {
				t.Errorf("got %v, want ErrClosed", err)
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
		if got, want := fi.Mode().Perm(), defaultBlobDirMode; got != want {
			t.Errorf("%s: got mode %q, want %q", d, FormatMode(got), FormatMode(want))
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
	info, _, err := b.Put(ctx, bytes.NewReader(data), BlobInfo{ContentType: "text/plain", Filename: "a.txt"}, nil)
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
	again, created, err := b.Put(ctx, bytes.NewReader(data), BlobInfo{ContentType: "text/markdown", Filename: "b.md"}, nil)
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
			_, _, err := b.Put(context.Background(), bytes.NewReader(blobTestBytes(9, 5*blobBufSize)), BlobInfo{}, nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.err)
			}
			if got := errors.Is(err, ErrNoSpace); got != tt.wantNoSpace {
				t.Errorf("got errors.Is(err, ErrNoSpace) = %v, want %v (err: %v)", got, tt.wantNoSpace, err)
			}
			assertNothingKept(t, b)
		})
	}
}
