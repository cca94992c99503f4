package handler_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// routeMethods are the methods the route table test sends to every path.
var routeMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// TestOddPathsNever405AnAllowedMethod sends every method to every route
// and to odd neighbours of each (a trailing slash, an extra segment,
// escaped dots and slashes, NUL) and checks that a 405 is never the
// answer for a method its own Allow header lists, nor for a method that
// the same path answers otherwise. No answer is a 5xx.
func TestOddPathsNever405AnAllowedMethod(t *testing.T) {
	fx := newFuzzFixture(t)
	routes := []string{
		"/", "/events", "/events/" + fx.head, "/events/verify", "/storage", "/storage/" + fx.hash,
		"/storage/verify", "/storage/photo.jpg", "/info", "/user/update", "/auth/token",
	}
	var paths []string
	for _, r := range routes {
		paths = append(paths, r, r+"/", r+"/x", r+"/x/y", r+"/%2e%2e/passwd", r+"/..%2fpasswd", r+"%2f", r+"%00", r+"/%2e")
	}
	paths = append(paths, "/storage/", "/storage/%2e%2e/passwd", "/storage/../passwd", "/events/", "/events/zz", "//info", "/events/../info")
	for _, path := range paths {
		u, err := url.ParseRequestURI(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		status := map[string]int{}
		allow := map[string]string{}
		for _, m := range routeMethods {
			var body []byte
			if m == "POST" && path == "/user/update" {
				body = []byte(`{"info":"x"}`)
			}
			res := fx.doURL(m, u, body, nil)
			if res.Code >= 500 {
				t.Errorf("%s %s: status %d: %s", m, path, res.Code, res.Body)
			}
			status[m], allow[m] = res.Code, res.Header().Get("Allow")
		}
		for _, m := range routeMethods {
			if status[m] != http.StatusMethodNotAllowed {
				continue
			}
			listed := strings.Split(allow[m], ", ")
			if allow[m] == "" {
				t.Errorf("%s %s: 405 without Allow", m, path)
			}
			if slices.Contains(listed, m) || m == "HEAD" && slices.Contains(listed, "GET") {
				t.Errorf("%s %s: 405, but Allow lists it: %q", m, path, allow[m])
			}
			for _, a := range listed {
				if status[a] == http.StatusMethodNotAllowed {
					t.Errorf("%s %s: 405 with Allow %q, but %s answers 405 too", m, path, allow[m], a)
				}
			}
		}
	}
}

// TestOddPathAnswers pins the answers to paths that used to get a 405 for
// an allowed method or a misleading message.
func TestOddPathAnswers(t *testing.T) {
	fx := newFuzzFixture(t)
	tests := []struct {
		method, path string
		status       int
		allow        string // the Allow header of a 405
		msg          string // part of the error message
	}{
		{"GET", "/storage/%2e%2e/passwd", 404, "", "no blob"},
		{"HEAD", "/storage/%2e%2e/passwd", 404, "", ""},
		{"DELETE", "/storage/a/b", 404, "", "no blob"},
		{"GET", "/storage/", 404, "", "no blob"},
		{"GET", "/events/verify", 405, "POST", "use POST"},
		{"HEAD", "/events/verify", 405, "POST", ""},
		{"PUT", "/events/verify", 405, "POST", "use POST"},
		{"DELETE", "/events/verify", 405, "POST", "use POST"},
		{"GET", "/storage/verify", 405, "PUT, POST", "use PUT, POST"},
		{"DELETE", "/storage/verify", 405, "PUT, POST", "use PUT, POST"},
		{"PATCH", "/storage/verify", 405, "PUT, POST", "use PUT, POST"},
		{"PATCH", "/storage/a/b", 405, "PUT, POST", "use PUT, POST"},
		{"PATCH", "/storage/" + fx.hash, 405, "GET, HEAD, PUT, POST, DELETE", ""},
		{"POST", "/", 405, "GET, HEAD", "use GET"},
		{"GET", "/events/zz", 400, "", "malformed hash"},
		{"GET", "/storage/photo.jpg", 400, "", "malformed hash"},
	}
	for _, tt := range tests {
		u, err := url.ParseRequestURI(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		res := fx.doURL(tt.method, u, nil, nil)
		if res.Code != tt.status || res.Header().Get("Allow") != tt.allow || !strings.Contains(res.Body.String(), tt.msg) {
			t.Errorf("%s %s: got %d, Allow %q, %s; want %d, Allow %q, a message with %q",
				tt.method, tt.path, res.Code, res.Header().Get("Allow"), res.Body, tt.status, tt.allow, tt.msg)
		}
	}
}
