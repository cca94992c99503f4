package client_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/client"
)

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestBlobs: put (with a name, by hash, from a file), the second put of
// the same bytes, get, delete and verify.
func TestBlobs(t *testing.T) {
	c, _ := start(t, nil)
	ctx := t.Context()
	hello := []byte("hello, apie\n")
	b, err := c.PutBlob(ctx, bytes.NewReader(hello), "hello world.txt", "text/plain")
	want := client.Blob{Hash: sha(hello), URL: "/storage/" + sha(hello), Size: int64(len(hello)), ContentType: "text/plain", Filename: "hello world.txt", Created: true}
	if err != nil || b != want {
		t.Fatalf("put: got %+v, %v; want %+v", b, err, want)
	}
	b, err = c.PutBlob(ctx, bytes.NewReader(hello), "hello world.txt", "text/plain")
	if want.Created = false; err != nil || b != want {
		t.Errorf("second put: got %+v, %v; want %+v", b, err, want)
	}
	got, err := c.GetBlob(ctx, sha(hello))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || !bytes.Equal(data, hello) || got.Size != int64(len(hello)) || got.ContentType != "text/plain" || got.Filename != "hello world.txt" {
		t.Errorf("get: got %q %+v, %v; want %q, text/plain, its name", data, got, err, hello)
	}

	other := bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000)
	if _, err := c.PutBlobAs(ctx, sha(hello), bytes.NewReader(other), ""); !isStatus(err, http.StatusBadRequest) {
		t.Errorf("put as the wrong hash: got %v, want 400", err)
	}
	path := filepath.Join(t.TempDir(), "other.bin")
	if err := os.WriteFile(path, other, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, err := c.PutBlobAs(ctx, sha(other), f, "application/octet-stream"); err != nil || b.Size != int64(len(other)) || !b.Created {
		t.Errorf("put as its hash from a file: got %+v, %v", b, err)
	}

	if r, err := c.VerifyBlobs(ctx); err != nil || r.Blobs != 2 || r.Bytes != int64(len(hello)+len(other)) {
		t.Errorf("verify: got %+v, %v; want 2 blobs", r, err)
	}
	if err := c.DeleteBlob(ctx, sha(hello)); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteBlob(ctx, sha(hello)); !isStatus(err, http.StatusNotFound) {
		t.Errorf("second delete: got %v, want 404", err)
	}
	if _, err := c.GetBlob(ctx, sha(hello)); !isStatus(err, http.StatusNotFound) {
		t.Errorf("get after delete: got %v, want 404", err)
	}
	if _, err := c.GetBlob(ctx, "nothex"); !isStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "GET /storage/nothex: 400") {
		t.Errorf("get of a malformed hash: got %v, want a 400 naming the request", err)
	}
}
