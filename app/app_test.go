package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"apie/auth"
	"apie/config"
)

// TestBrokenBy checks what a client is told when apie cannot start: which
// file to check when the cause is its owner or mode, never a path.
func TestBrokenBy(t *testing.T) {
	denied := func(op, path string) error { return &fs.PathError{Op: op, Path: path, Err: syscall.EACCES} }
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"config unreadable", fmt.Errorf("%w: %w", config.ErrRead, denied("open", "/secret/apie.json")),
			"cannot read its config file: check the owner and mode of apie.json"},
		{"config missing", fmt.Errorf("%w: %w", config.ErrRead, &fs.PathError{Op: "open", Path: "/secret/apie.json", Err: syscall.ENOENT}),
			"apie is misconfigured; see the server's error log"},
		{"config invalid", errors.New("config /secret/apie.json: eventlog.fileMode: bad"), "apie is misconfigured"},
		{"users file", fmt.Errorf("check credentials: %w: %w", auth.ErrPasswdFile, denied("stat", "/secret/passwd")),
			"cannot read its users file"},
		{"store", fmt.Errorf("open event log: %w", denied("open", "/secret/events/format")), "cannot open its data files"},
		{"none", nil, "apie is misconfigured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			BrokenBy(tt.err).ServeHTTP(rec, httptest.NewRequest("GET", "/info", nil))
			var body struct{ Status, ErrorMessage string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != http.StatusInternalServerError || body.Status != "error" || !strings.Contains(body.ErrorMessage, tt.want) {
				t.Errorf("got %d %q, want 500 with %q", rec.Code, rec.Body, tt.want)
			}
			if strings.Contains(rec.Body.String(), "/secret") {
				t.Errorf("the answer shows a path: %q", rec.Body)
			}
		})
	}
}
