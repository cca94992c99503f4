package handler_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"apie/auth"
	"apie/blobstore"
	"apie/handler"
	"apie/store"
)

// readFromRecorder is a ResponseWriter that, like net/http's own, takes
// bodies through io.ReaderFrom, and remembers what it was handed.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	srcs []io.Reader
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.srcs = append(r.srcs, src)
	return io.Copy(r.ResponseRecorder, src)
}

// TestGetBlobHandsTheFileToReadFrom: a blob GET, whole or a range, through
// every middleware (request log included), hands the response writer's
// ReadFrom the blob store's *os.File (under net/http's io.LimitedReader).
// That is what net.TCPConn.ReadFrom needs to use sendfile(2): a wrapper
// anywhere between the store's Open and the connection would turn the
// copy into read(2)s and write(2)s.
func TestGetBlobHandsTheFileToReadFrom(t *testing.T) {
	dir := t.TempDir()
	const user, password = "alice@example.com", "alice's password"
	hash, err := auth.HashPassword(password, 4)
	if err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(user+":"+hash+":Alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checker, err := auth.NewChecker(auth.Options{PasswdPath: passwd, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	blobs, err := blobstore.OpenBlobStore(ctx, blobstore.BlobOptions{Dir: filepath.Join(dir, "blobs")})
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	data := bytes.Repeat([]byte("0123456789"), 10000)
	info, _, err := blobs.Put(ctx, bytes.NewReader(data), store.BlobInfo{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := handler.New(handler.Options{
		Version:     "test",
		OpenBlobs:   func(context.Context) (store.BlobStore, error) { return blobs, nil },
		Auth:        checker,
		LogRequests: true,
	})
	for _, tt := range []struct {
		name   string
		rng    string
		status int
		want   []byte
	}{
		{"whole", "", http.StatusOK, data},
		{"range", "bytes=10-29", http.StatusPartialContent, data[10:30]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/storage/"+info.Hash.String(), nil)
			req.SetBasicAuth(user, password)
			if tt.rng != "" {
				req.Header.Set("Range", tt.rng)
			}
			rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || !bytes.Equal(rec.Body.Bytes(), tt.want) {
				t.Fatalf("got %d and %d bytes, want %d and %d bytes", rec.Code, rec.Body.Len(), tt.status, len(tt.want))
			}
			if len(rec.srcs) != 1 {
				t.Fatalf("ReadFrom was called %d times, want once", len(rec.srcs))
			}
			src := rec.srcs[0]
			if lr, ok := src.(*io.LimitedReader); ok {
				src = lr.R
			}
			if _, ok := src.(*os.File); !ok {
				t.Fatalf("ReadFrom was handed a %T, want the blob's *os.File", src)
			}
		})
	}
}
