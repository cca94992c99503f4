package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFirstUserGate: until the first user is stored, a request with
// credentials waits and one without is answered at once; then both pass.
func TestFirstUserGate(t *testing.T) {
	f := &firstUser{done: make(chan struct{})}
	h := f.gate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	srv := httptest.NewServer(h)
	defer srv.Close()

	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("request without credentials while the user is made: %v %v, want 204 at once", resp, err)
	}
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.SetBasicAuth("admin", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case code := <-answered:
		t.Fatalf("request with credentials answered (%d) before the first user was stored", code)
	case <-time.After(100 * time.Millisecond): // it must still be waiting; no bound on how long
	}
	close(f.done)
	if code := <-answered; code != http.StatusNoContent {
		t.Fatalf("request with credentials after the user was stored: got %d, want 204", code)
	}
	if (*firstUser)(nil).gate(h) == nil {
		t.Fatal("nil gate returned no handler")
	}
}

// TestFirstStartListensBeforeHashing: on a first start apie-serve answers
// before it has hashed the first user's password (a high bcrypt cost makes
// the hash take a second or more: the line printing the password comes
// only once the user is stored), and the printed password then works.
func TestFirstStartListensBeforeHashing(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "apie.json")
	if err := os.WriteFile(cfg, []byte(`{"auth":{"bcryptCost":14}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, dir, "-config", cfg) // returns once GET / answers
	if strings.Contains(s.stdout.String(), "password") {
		t.Fatalf("the password was printed before apie-serve answered: the hash is still on the path to listening:\n%s", s.stdout)
	}
	var m []string
	for deadline := time.Now().Add(2 * time.Minute); m == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no first-user line in stdout:\n%s", s.stdout)
		}
		m = passwordLine.FindStringSubmatch(s.stdout.String())
	}
	if code, _ := call(t, "GET", s.URL+"/info", m[1]+":"+m[2], ""); code != 200 {
		t.Fatalf("GET /info with the printed password: got %d, want 200", code)
	}
	s.Shutdown(t)
}
