package app

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/config"
	"apie/webroot"
)

func TestCheckWebRoot(t *testing.T) {
	www := t.TempDir()
	env := map[string]string{"SERVER_SOFTWARE": "Apache", "DOCUMENT_ROOT": www}
	getenv := func(k string) string { return env[k] }
	dir := filepath.Join(www, "apie")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`{"eventlog":{"path":"events"},"contentstore":{"path":"storage"}}`), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckWebRoot(cfg, getenv); !errors.Is(err, webroot.ErrExposed) {
		t.Fatalf("no .htaccess: got %v, want ErrExposed", err)
	}
	trusting := cfg
	trusting.CGI.TrustWebRoot = true
	if err := CheckWebRoot(trusting, getenv); err != nil {
		t.Errorf("cgi.trustWebRoot: got %v, want nil", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".htaccess"), []byte(webroot.Marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckWebRoot(cfg, getenv); err != nil {
		t.Errorf("with the marked .htaccess: got %v, want nil", err)
	}
	// The data moved out of the apie directory, still in the web root.
	cfg.ContentStore.Path = filepath.Join(www, "storage")
	if err := CheckWebRoot(cfg, getenv); !errors.Is(err, webroot.ErrExposed) || !strings.Contains(err.Error(), cfg.ContentStore.Path) {
		t.Errorf("storage beside the apie directory: got %v, want ErrExposed naming it", err)
	}
}

func TestBrokenByExposure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // in the message
	}{
		{"exposed data", &webroot.ExposedError{Paths: []string{"/www/apie/events"}, Root: "/www"}, "inside the web root without the shipped .htaccess"},
		{"another failure", errors.New("config /www/apie/apie.json: unknown field"), "misconfigured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			BrokenBy(tt.err).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/events", nil))
			if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %q, want a JSON 500", w.Code, w.Header().Get("Content-Type"))
			}
			var e struct {
				Status       string `json:"status"`
				ErrorMessage string `json:"errorMessage"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Status != "error" {
				t.Fatalf("body %q is not apie's JSON error: %v", w.Body, err)
			}
			if !strings.Contains(e.ErrorMessage, tt.want) {
				t.Errorf("message %q does not say %q", e.ErrorMessage, tt.want)
			}
			if strings.Contains(w.Body.String(), "/www") {
				t.Errorf("the client sees a path: %s", w.Body)
			}
		})
	}
}
