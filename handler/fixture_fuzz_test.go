package handler_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"apie/auth"
	"apie/blobstore"
	"apie/consumerstore"
	"apie/event"
	"apie/eventlog"
	"apie/handler"
	"apie/store"
)

// A fuzzFixture is the whole handler over real stores in a temp dir, for
// fuzz targets that send it hostile requests. It keeps what it knows must
// hold between requests: the event count, the blobs it stored.
type fuzzFixture struct {
	h      *handler.Handler
	auth   string          // Authorization for the fixture's user
	head   string          // the hash of a stored event
	blob   []byte          // a stored blob
	hash   string          // its hash
	stored map[string]bool // blob hashes stored so far
}

const (
	fuzzUser     = "fuzz@example.com"
	fuzzPassword = "fuzz password"
)

// newFuzzFixture builds the handler as apie wires it (basic auth with a
// bcrypt passwd, file event log and blob store, a 1 MiB blob limit)
// and stores one event and one blob.
func newFuzzFixture(f testing.TB) *fuzzFixture {
	f.Helper()
	dir := f.TempDir()
	hash, err := auth.HashPassword(fuzzPassword, 4)
	if err != nil {
		f.Fatal(err)
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(fuzzUser+":"+hash+":fuzzer\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	checker, err := auth.NewChecker(auth.Options{PasswdPath: passwd, BcryptCost: 4, Cache: true, TokenKeyPath: filepath.Join(dir, "token.key")})
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
	consumers, err := consumerstore.Open(consumerstore.Options{Dir: filepath.Join(dir, "events", "consumers")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { log.Close(); blobs.Close() })
	fx := &fuzzFixture{
		h: handler.New(handler.Options{
			Version:    "fuzz",
			OpenLog:    func(context.Context) (store.EventLog, error) { return log, nil },
			OpenBlobs:  func(context.Context) (store.BlobStore, error) { return blobs, nil },
			Auth:       checker,
			Users:      &auth.Users{Path: passwd, Mode: 0o600, Cost: 4},
			Limits:     event.DefaultLimits,
			BlobBytes:  1 << 20,
			PublicConf: map[string]any{"fuzz": true},

			OpenConsumers: func(context.Context) (store.ConsumerStore, error) { return consumers, nil },
		}),
		stored: make(map[string]bool),
	}
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(fuzzUser, fuzzPassword)
	fx.auth = req.Header.Get("Authorization")

	res := fx.do(f, "POST", "/events", []byte(`{"eventType":"seed","body":{"n":1}}`), nil)
	if res.Code != http.StatusCreated {
		f.Fatalf("seed event: status %d: %s", res.Code, res.Body)
	}
	var ev struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(res.Body.Bytes(), &ev); err != nil {
		f.Fatal(err)
	}
	fx.head = ev.Hash
	fx.blob = []byte("the fixture's blob")
	fx.hash = hexSHA256(fx.blob)
	if res := fx.do(f, "PUT", "/storage/seed.txt", fx.blob, map[string]string{"Content-Type": "text/plain"}); res.Code != http.StatusCreated {
		f.Fatalf("seed blob: status %d: %s", res.Code, res.Body)
	}
	fx.stored[fx.hash] = true
	return fx
}

// do serves one authenticated request with the given headers; target is
// a path with an optional query.
func (fx *fuzzFixture) do(t testing.TB, method, target string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("target %q: %v", target, err)
	}
	return fx.doURL(method, u, body, header)
}

// doURL serves one authenticated request for u exactly as given.
func (fx *fuzzFixture) doURL(method string, u *url.URL, body []byte, header map[string]string) *httptest.ResponseRecorder {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest("GET", "/", rd)
	req.Method, req.URL, req.RequestURI = method, u, u.RequestURI()
	req.ContentLength = int64(len(body))
	req.Header.Set("Authorization", fx.auth)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	return rec
}

// count returns X-Apie-Count from HEAD /events.
func (fx *fuzzFixture) count(t testing.TB) int {
	t.Helper()
	res := fx.do(t, "HEAD", "/events", nil, nil)
	n, err := strconv.Atoi(res.Header().Get("X-Apie-Count"))
	if res.Code != http.StatusOK || err != nil {
		t.Fatalf("HEAD /events: status %d, count %q", res.Code, res.Header().Get("X-Apie-Count"))
	}
	return n
}

// checkAnswer checks what every answer must be: not a 5xx, and an error
// is apie's JSON error with a JSON content type.
func checkAnswer(t testing.TB, what string, res *httptest.ResponseRecorder) {
	t.Helper()
	if res.Code >= 500 {
		t.Fatalf("%s: status %d: %s", what, res.Code, res.Body)
	}
	if res.Code >= 400 {
		var e struct {
			Status       string `json:"status"`
			ErrorMessage string `json:"errorMessage"`
		}
		if err := json.Unmarshal(res.Body.Bytes(), &e); err != nil || e.Status != "error" || e.ErrorMessage == "" {
			t.Fatalf("%s: status %d with body %q, want a JSON error", what, res.Code, res.Body)
		}
	}
	for k, vs := range res.Header() {
		for _, v := range vs {
			if bytes.ContainsAny([]byte(k+v), "\r\n") {
				t.Fatalf("%s: header %s holds CR or LF: %q", what, k, v)
			}
		}
	}
}

// checkAppend checks an append's answer against the count before it: a
// refused request changed nothing, 200 appended nothing, 201 appended
// the events it returned, each of which verifies.
func (fx *fuzzFixture) checkAppend(t testing.TB, what string, before int, res *httptest.ResponseRecorder) {
	t.Helper()
	checkAnswer(t, what, res)
	after := fx.count(t)
	switch res.Code {
	case http.StatusCreated:
		evs := decodeAnswer(t, what, res.Body.Bytes())
		if after <= before || after > before+len(evs) {
			t.Fatalf("%s: 201 with %d events, but the count went from %d to %d", what, len(evs), before, after)
		}
	case http.StatusOK:
		decodeAnswer(t, what, res.Body.Bytes())
		if after != before {
			t.Fatalf("%s: 200 (a retry), but the count went from %d to %d", what, before, after)
		}
	default:
		if after != before {
			t.Fatalf("%s: refused with %d, but the count went from %d to %d", what, res.Code, before, after)
		}
	}
}

// decodeAnswer verifies every event of an append's answer.
func decodeAnswer(t testing.TB, what string, body []byte) []event.Event {
	t.Helper()
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			t.Fatalf("%s: answer is not a JSON array: %v", what, err)
		}
	} else {
		raws = []json.RawMessage{body}
	}
	evs := make([]event.Event, len(raws))
	for i, raw := range raws {
		ev, err := event.VerifyRecord(raw)
		if err != nil {
			t.Fatalf("%s: answered event %d does not verify: %v", what, i, err)
		}
		evs[i] = ev
	}
	return evs
}

func hexSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// quote returns s as a JSON string, even if it is not valid UTF-8 (the
// bytes are kept: the point is to send them).
func quote(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
