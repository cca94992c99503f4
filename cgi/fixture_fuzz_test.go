package cgi_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"apie/auth"
	"apie/blobstore"
	"apie/event"
	"apie/eventlog"
	"apie/handler"
	"apie/store"
)

// A fuzzFixture is apie's handler over real stores in a temp dir, as
// apie-cgi wires it, for fuzzing the CGI edge end to end.
type fuzzFixture struct {
	h    *handler.Handler
	log  *eventlog.EventLog
	auth string // Authorization for the fixture's user
}

// newFuzzFixture builds the handler with a passwd of one user (bcrypt
// cost 4, no credential cache, as under CGI) and a token key, as apie-cgi
// always has one.
func newFuzzFixture(f testing.TB) *fuzzFixture {
	f.Helper()
	dir := f.TempDir()
	hash, err := auth.HashPassword("fuzz password", 4)
	if err != nil {
		f.Fatal(err)
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("fuzz@example.com:"+hash+":\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	checker, err := auth.NewChecker(auth.Options{PasswdPath: passwd, BcryptCost: 4, TokenKeyPath: filepath.Join(dir, "token.key")})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	log, err := eventlog.OpenEventLog(ctx, eventlog.LogOptions{Dir: filepath.Join(dir, "events")})
	if err != nil {
		f.Fatal(err)
	}
	blobs, err := blobstore.OpenBlobStore(ctx, blobstore.BlobOptions{Dir: filepath.Join(dir, "blobs"), MaxBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { log.Close(); blobs.Close() })
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("fuzz@example.com", "fuzz password")
	return &fuzzFixture{
		h: handler.New(handler.Options{
			Version:   "fuzz",
			OpenLog:   func(context.Context) (store.EventLog, error) { return log, nil },
			OpenBlobs: func(context.Context) (store.BlobStore, error) { return blobs, nil },
			Auth:      checker,
			Users:     &auth.Users{Path: passwd, Mode: 0o600, Cost: 4},
			Limits:    event.DefaultLimits,
			BlobBytes: 1 << 20,
		}),
		log:  log,
		auth: req.Header.Get("Authorization"),
	}
}

// count returns the number of events in the fixture's log.
func (fx *fuzzFixture) count(t testing.TB) uint64 {
	t.Helper()
	h, err := fx.log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Seq
}
