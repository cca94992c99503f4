// Package cgi is apie's CGI edge: it turns the one request a web server
// hands a CGI process (environment variables and standard input) into an
// *http.Request routed on PATH_INFO, runs the shared handler, and writes the
// CGI response to standard output.
//
// Request parsing is net/http/cgi's; the response writer is our own small
// one, which spares the start-up work of cgi.Serve.
package cgi

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/url"
	"os"
	"strings"

	"apie/handler"
)

// Request builds the request described by env (NAME=value pairs, as
// os.Environ returns them), reading its body from body. The route is
// PATH_INFO; the script's own path (SCRIPT_NAME) becomes the base that
// Location and Link headers point back through. Authorization comes from
// HTTP_AUTHORIZATION or, after a rewrite, REDIRECT_HTTP_AUTHORIZATION.
func Request(env []string, body io.Reader) (*http.Request, error) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	// net/http/cgi trusts REQUEST_URI for the path; apie routes on
	// PATH_INFO, so rebuild the URL from it.
	pathInfo := m["PATH_INFO"]
	if pathInfo == "" {
		pathInfo = "/"
	}
	if !strings.HasPrefix(pathInfo, "/") {
		pathInfo = "/" + pathInfo
	}
	m["REQUEST_URI"] = (&url.URL{Path: pathInfo, RawQuery: m["QUERY_STRING"]}).RequestURI()
	r, err := cgi.RequestFromMap(m)
	if err != nil {
		return nil, fmt.Errorf("cgi request: %w", err)
	}
	r.URL.Path, r.URL.RawPath = pathInfo, ""
	if r.Header.Get("Authorization") == "" {
		if a := m["REDIRECT_HTTP_AUTHORIZATION"]; a != "" {
			r.Header.Set("Authorization", a)
		} else if a := m["HTTP_AUTHORIZATION"]; a != "" {
			r.Header.Set("Authorization", a)
		}
	}
	if r.ContentLength > 0 {
		r.Body = io.NopCloser(io.LimitReader(body, r.ContentLength))
	} else {
		r.Body = http.NoBody
	}
	r = r.WithContext(handler.WithBase(r.Context(), m["SCRIPT_NAME"]))
	return r, nil
}

// needsLength reports whether the request has a body of unknown length
// (chunked), which apie refuses with 411: CGI gives no reliable way to read
// it, and limits are checked against Content-Length first.
func needsLength(env []string) bool {
	var cl, te bool
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, "CONTENT_LENGTH="):
			cl = kv != "CONTENT_LENGTH="
		case strings.HasPrefix(kv, "HTTP_TRANSFER_ENCODING="):
			te = kv != "HTTP_TRANSFER_ENCODING="
		}
	}
	return te && !cl
}

// Serve answers the one request in env with h, reading stdin and writing
// the CGI response to stdout. A request that cannot be parsed gets a JSON
// 400; the returned error is for the caller's log (stderr).
func Serve(h http.Handler, env []string, stdin io.Reader, stdout io.Writer) error {
	w := newResponse(stdout)
	defer w.finish()
	if needsLength(env) {
		// Read the body to its end first (see drain): the web server
		// closes stdin after it.
		io.Copy(io.Discard, io.LimitReader(stdin, maxDrain))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusLengthRequired)
		io.WriteString(w, `{"status":"error","errorMessage":"a request body needs a Content-Length header"}`+"\n")
		return nil
	}
	in := &countingReader{r: stdin}
	r, err := Request(env, in)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"status":"error","errorMessage":"malformed CGI request"}`+"\n")
		return err
	}
	h.ServeHTTP(w, r)
	drain(in, r.ContentLength)
	return nil
}

// maxDrain bounds the unread request body Serve reads and discards.
const maxDrain = 32 << 20

// drain reads and discards what is left of a body of length n, at most
// maxDrain bytes, before the answer is sent. A handler that refuses a
// request early (401, 413) leaves the body unread, and a web server still
// writing it to a program that has exited loses the answer: mod_cgid
// resets the connection, fcgiwrap answers 502. Only the announced length
// is read: the web server need not close stdin after the body.
func drain(in *countingReader, n int64) {
	if left := n - in.n; left > 0 && left <= maxDrain {
		io.CopyN(io.Discard, in, left)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// response writes a CGI response: a Status line, the headers, a blank
// line, then the body, buffered.
type response struct {
	hdr         http.Header
	bw          *bufio.Writer
	wroteHeader bool
}

func newResponse(out io.Writer) *response {
	return &response{hdr: make(http.Header), bw: bufio.NewWriterSize(out, 32<<10)}
}

func (r *response) Header() http.Header { return r.hdr }

func (r *response) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	if code >= 100 && code < 200 {
		return // informational responses are not for CGI
	}
	r.wroteHeader = true
	if code == http.StatusOK {
		// A CGI server reads a Location on a 200 as a redirect (RFC 3875
		// 6.2.2: Apache fetches a local path in its place), never as data.
		r.hdr.Del("Location")
	}
	if r.hdr.Get("Content-Type") == "" && code != http.StatusNotModified && code != http.StatusNoContent {
		r.hdr.Set("Content-Type", "text/plain; charset=utf-8")
	}
	fmt.Fprintf(r.bw, "Status: %d %s\r\n", code, http.StatusText(code))
	r.hdr.Write(r.bw)
	r.bw.WriteString("\r\n")
}

func (r *response) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.bw.Write(p)
}

// ReadFrom lets io.Copy skip an extra buffer.
func (r *response) ReadFrom(src io.Reader) (int64, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.bw.ReadFrom(src)
}

// Flush sends what is buffered (used by streaming responses).
func (r *response) Flush() {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	r.bw.Flush()
}

func (r *response) finish() {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	r.bw.Flush()
}

// Is reports whether this process was started as a CGI program.
func Is() bool { return os.Getenv("GATEWAY_INTERFACE") != "" }
