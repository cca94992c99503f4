package handler

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"apie/auth"
	"apie/ui"
)

// TestPage checks the page is served without auth, under a CGI base too,
// while the API around it still asks for credentials.
func TestPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := auth.Update(context.Background(), path, 0, func(p *auth.Passwd) error { return nil }); err != nil {
		t.Fatal(err)
	}
	checker, err := auth.NewChecker(auth.Options{PasswdPath: path, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Options{Version: "test", Auth: checker, Logger: discardLogger()})
	for _, tc := range []struct {
		method, path, base string
		status             int
		location           string
	}{
		{"GET", "/ui/", "", 200, ""},
		{"HEAD", "/ui/", "", 200, ""},
		{"GET", "/ui/app.js", "", 200, ""},
		{"GET", "/ui/apie.js", "/cgi-bin/apie-cgi", 200, ""},
		{"GET", "/ui", "", 301, "ui/"},
		{"GET", "/ui", "/cgi-bin/apie-cgi", 301, "ui/"},
		{"GET", "/ui/nothing", "", 404, ""},
		{"POST", "/ui/", "", 405, ""},
		{"GET", "/uix", "", 401, ""},
		{"GET", "/events", "", 401, ""},
		{"GET", "/info", "", 401, ""},
	} {
		t.Run(tc.method+" "+tc.base+tc.path, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.base != "" {
				r = r.WithContext(WithBase(r.Context(), tc.base))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("got %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if tc.status == 200 && w.Header().Get("Content-Security-Policy") != ui.CSP {
				t.Errorf("no CSP: %v", w.Header())
			}
		})
	}
}
