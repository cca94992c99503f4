package cgi_test

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"

	"apie/cgi"
)

// TestRedirectsGoThroughTheScript checks the redirects the router makes
// for paths that are not clean (dot segments, doubled slashes) or lack a
// trailing slash: under CGI they must point back through SCRIPT_NAME, not
// to the site's root, and keep the query.
func TestRedirectsGoThroughTheScript(t *testing.T) {
	fx := newFuzzFixture(t)
	tests := []struct {
		method, pathInfo string
		status           int
		location         string
	}{
		{"GET", "/events/../info", http.StatusTemporaryRedirect, "/cgi-bin/apie/info?x=1"},
		{"GET", "//info", http.StatusTemporaryRedirect, "/cgi-bin/apie/info?x=1"},
		{"GET", "/storage/..", http.StatusTemporaryRedirect, "/cgi-bin/apie/?x=1"},
		{"GET", "/./events/", http.StatusTemporaryRedirect, "/cgi-bin/apie/events/?x=1"},
		{"POST", "/events/./verify", http.StatusTemporaryRedirect, "/cgi-bin/apie/events/verify?x=1"},
		{"GET", "/storage", http.StatusMethodNotAllowed, ""},
		{"PUT", "/storage", http.StatusCreated, "/cgi-bin/apie/storage/"},
	}
	for _, tt := range tests {
		env := []string{
			"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "SERVER_NAME=localhost", "SERVER_PORT=80",
			"HTTP_HOST=localhost", "SCRIPT_NAME=/cgi-bin/apie", "REMOTE_ADDR=127.0.0.1", "HTTP_AUTHORIZATION=" + fx.auth,
			"REQUEST_METHOD=" + tt.method, "PATH_INFO=" + tt.pathInfo, "QUERY_STRING=x=1",
		}
		var body []byte
		if tt.method == "PUT" {
			body = []byte("redirect test " + tt.pathInfo)
			env = append(env, "CONTENT_LENGTH="+strconv.Itoa(len(body)))
		}
		var out bytes.Buffer
		if err := cgi.Serve(fx.h, env, bytes.NewReader(body), &out); err != nil {
			t.Fatal(err)
		}
		status, hdr, resBody := parseCGI(t, out.Bytes())
		loc := hdr.Get("Location")
		if status != tt.status || len(loc) < len(tt.location) || loc[:len(tt.location)] != tt.location {
			t.Errorf("%s %s: got %d, Location %q (%s); want %d, Location %q", tt.method, tt.pathInfo, status, loc, resBody, tt.status, tt.location)
		}
	}
}
