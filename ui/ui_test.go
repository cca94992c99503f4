package ui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	h := New()
	client, err := os.ReadFile("../clients/js/apie.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		body         string // a part the answer must hold
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", `from "./apie.js"`},
		{"GET", "/apie.js", 200, "text/javascript; charset=utf-8", string(client)},
		{"GET", "/style.css", 200, "text/css; charset=utf-8", ":root"},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/index.html", 404, "application/json", `"status":"error"`},
		{"GET", "/app.js/", 404, "application/json", `"status":"error"`},
		{"GET", "/ui.go", 404, "application/json", `"status":"error"`},
		{"GET", "/../ui.go", 404, "application/json", `"status":"error"`},
		{"POST", "/", 405, "application/json", "use GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("got %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := w.Header().Get("Content-Security-Policy"); got != CSP {
				t.Errorf("CSP %q, want %q", got, CSP)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if tc.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD has a body of %d bytes", w.Body.Len())
			}
			if tc.method == "GET" && tc.status == 200 && tc.path == "/apie.js" && w.Body.String() != tc.body {
				t.Errorf("apie.js served is not clients/js/apie.js")
			}
			if !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("body lacks %q:\n%.300s", tc.body, w.Body.String())
			}
		})
	}
}

func TestCSPIsStrict(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:", "data:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %s: %s", bad, CSP)
		}
	}
	// The page's files keep to it: no inline script, style or handlers.
	html, _ := files.ReadFile("index.html")
	for _, bad := range []string{"<script>", "<style", "style=", "onclick=", "onload=", "javascript:", "http://", "https://"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("index.html holds %q, which the CSP refuses or which leaves the origin", bad)
		}
	}
	for _, name := range []string{"app.js", "style.css"} {
		b, _ := files.ReadFile(name)
		for _, bad := range []string{"http://", "https://", "innerHTML", "eval(", "@import", "url("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s holds %q", name, bad)
			}
		}
	}
}

func TestETag(t *testing.T) {
	h := New()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/app.js", nil))
	etag := w.Header().Get("ETag")
	if len(etag) != 34 || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, w.Header().Get("Cache-Control"))
	}
	r := httptest.NewRequest("GET", "/app.js", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match with the ETag: got %d and %d bytes, want 304 and none", w.Code, w.Body.Len())
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/style.css", nil))
	if w.Header().Get("ETag") == etag {
		t.Errorf("two files share the ETag %s", etag)
	}
}
