package cgi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"apie/cgi"
)

// FuzzCGIRequest hands apie's CGI edge fuzzed environments (PATH_INFO,
// QUERY_STRING, REQUEST_METHOD, HTTP_AUTHORIZATION and
// REDIRECT_HTTP_AUTHORIZATION, CONTENT_LENGTH) and bodies. cgi.Request
// routes on PATH_INFO, takes Authorization from either variable and reads
// no more than CONTENT_LENGTH; cgi.Serve, with apie's real handler over
// real stores, always writes a well-formed CGI response with a Status, no
// 5xx, a JSON error for a refusal, and a refused request appends nothing.
// An authorization value "fixture" stands for the fixture user's.
func FuzzCGIRequest(f *testing.F) {
	for _, s := range []struct {
		path, query, method, authz, redirect, length, body string
	}{
		{"/events", "", "GET", "fixture", "", "", ""},
		{"/events", "limit=1", "GET", "", "fixture", "", ""},
		{"/events", "", "POST", "fixture", "", "30", `{"eventType":"t","body":{"a":1}}`},
		{"/events", "", "POST", "fixture", "", "5", `{"eventType":"t","body":1}`},
		{"/events", "", "POST", "fixture", "", "100", `[{"eventType":"t","body":1}]`},
		{"/storage/a.txt", "", "PUT", "fixture", "", "3", "abc"},
		{"/storage/..%2fpasswd", "", "PUT", "fixture", "", "3", "abc"},
		{"events", "", "HEAD", "fixture", "", "", ""},
		{"", "", "GET", "", "", "", ""},
		{"/info", "", "GET", "Basic !!!", "fixture", "", ""},
		{"/info", "", "GET", "Bearer nope", "", "", ""},
		{"/events/" + strings.Repeat("a", 64), "x=%zz", "GET", "fixture", "", "", ""},
		{"/events", "", "POST", "fixture", "", "-1", "x"},
		{"/events", "", "POST", "fixture", "", "18446744073709551616", "x"},
		{"/\x00", "\x00", "GET", "fixture", "", "", ""},
		{"/events", "", "", "fixture", "", "", ""},
	} {
		f.Add(s.path, s.query, s.method, s.authz, s.redirect, s.length, []byte(s.body))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, pathInfo, query, method, authz, redirect, length string, body []byte) {
		if authz == "fixture" {
			authz = fx.auth
		}
		if redirect == "fixture" {
			redirect = fx.auth
		}
		env := []string{
			"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "SERVER_NAME=localhost", "SERVER_PORT=80",
			"HTTP_HOST=localhost", "SCRIPT_NAME=/cgi-bin/apie", "REMOTE_ADDR=127.0.0.1",
			"REQUEST_METHOD=" + method, "PATH_INFO=" + pathInfo, "QUERY_STRING=" + query,
		}
		if authz != "" {
			env = append(env, "HTTP_AUTHORIZATION="+authz)
		}
		if redirect != "" {
			env = append(env, "REDIRECT_HTTP_AUTHORIZATION="+redirect)
		}
		if length != "" {
			env = append(env, "CONTENT_LENGTH="+length)
		}

		if r, err := cgi.Request(env, bytes.NewReader(body)); err == nil {
			checkRequest(t, r, pathInfo, authz, redirect, body)
		}

		before := fx.count(t)
		var out bytes.Buffer
		cgi.Serve(fx.h, env, bytes.NewReader(body), &out)
		status, hdr, resBody := parseCGI(t, out.Bytes())
		if status >= 500 {
			t.Fatalf("%s %q: status %d: %s", method, pathInfo, status, resBody)
		}
		if status >= 400 && method != "HEAD" {
			var e struct {
				Status       string `json:"status"`
				ErrorMessage string `json:"errorMessage"`
			}
			if err := json.Unmarshal(resBody, &e); err != nil || e.Status != "error" {
				t.Fatalf("%s %q: status %d with %q, want a JSON error", method, pathInfo, status, resBody)
			}
		}
		if status >= 300 && fx.count(t) != before {
			t.Fatalf("%s %q: refused with %d, but the log grew", method, pathInfo, status)
		}
		if loc := hdr.Get("Location"); loc != "" && !strings.HasPrefix(loc, "/cgi-bin/apie/") {
			t.Fatalf("%s %q: Location %q does not point back through the script", method, pathInfo, loc)
		}
	})
}

// checkRequest checks what cgi.Request made of the environment.
func checkRequest(t *testing.T, r *http.Request, pathInfo, authz, redirect string, body []byte) {
	t.Helper()
	want := pathInfo
	if want == "" {
		want = "/"
	}
	if !strings.HasPrefix(want, "/") {
		want = "/" + want
	}
	if r.URL.Path != want {
		t.Fatalf("PATH_INFO %q: routed on %q, want %q", pathInfo, r.URL.Path, want)
	}
	wantAuth := authz
	if wantAuth == "" {
		wantAuth = redirect
	}
	if got := r.Header.Get("Authorization"); got != wantAuth {
		t.Fatalf("HTTP_AUTHORIZATION %q, REDIRECT_HTTP_AUTHORIZATION %q: Authorization %q, want %q", authz, redirect, got, wantAuth)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	n := int(min(max(r.ContentLength, 0), int64(len(body))))
	if !bytes.Equal(got, body[:n]) {
		t.Fatalf("Content-Length %d, body of %d bytes: read %d bytes, want the first %d", r.ContentLength, len(body), len(got), n)
	}
}

// parseCGI parses a CGI response strictly: every header line "Name:
// value" with no stray CR or LF, a Status header with a 3-digit code, a
// blank line, then the body.
func parseCGI(t *testing.T, out []byte) (int, http.Header, []byte) {
	t.Helper()
	end := bytes.Index(out, []byte("\r\n\r\n"))
	if end < 0 {
		t.Fatalf("CGI response without a blank line after the headers: %q", out)
	}
	for _, line := range strings.Split(string(out[:end]), "\r\n") {
		if strings.ContainsAny(line, "\r\n") || !strings.Contains(line, ": ") {
			t.Fatalf("malformed CGI header line %q in %q", line, out[:end])
		}
	}
	mh, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(out[:end+4]))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("CGI headers: %v: %q", err, out[:end])
	}
	hdr := http.Header(mh)
	fields := strings.Fields(hdr.Get("Status"))
	if len(fields) == 0 || len(fields[0]) != 3 {
		t.Fatalf("CGI Status %q", hdr.Get("Status"))
	}
	code, err := strconv.Atoi(fields[0])
	if err != nil {
		t.Fatalf("CGI Status %q: %v", hdr.Get("Status"), err)
	}
	return code, hdr, out[end+4:]
}
