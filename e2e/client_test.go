package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"testing"
	"time"

	"apie/client"
)

// target is one transport serving the API: apie-serve, or apie-cgi behind
// a web server.
type target struct {
	name     string
	origin   string // scheme://host:port
	base     string // the API's path prefix: "" for apie-serve, the script's path under CGI
	user     string
	password string
	cgi      bool // one process per request: send Connection: close
	hc       *http.Client
}

// newTarget returns a target with its own HTTP client.
func newTarget(name, origin, base, user, password string, cgi bool) *target {
	tr := &http.Transport{DisableKeepAlives: cgi, MaxIdleConnsPerHost: 8, ResponseHeaderTimeout: time.Minute}
	return &target{name: name, origin: origin, base: base, user: user, password: password, cgi: cgi,
		hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// api is the apie client for the target as its user, with the password
// in force now (a row may change it).
func (tg *target) api(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(tg.origin+tg.base, client.WithBasicAuth(tg.user, tg.password), client.WithHTTPClient(tg.hc))
	if err != nil {
		t.Fatalf("%s: %v", tg.name, err)
	}
	return c
}

// reply is a response read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// reqOpt changes a request before it is sent.
type reqOpt func(r *http.Request, o *reqOpts)

type reqOpts struct {
	rawErrors bool // do not require JSON error bodies (Apache's own pages)
}

// header sets a request header.
func header(k, v string) reqOpt {
	return func(r *http.Request, _ *reqOpts) { r.Header.Set(k, v) }
}

// basic authenticates as user with password instead of the target's user.
func basic(user, password string) reqOpt {
	return func(r *http.Request, _ *reqOpts) { r.SetBasicAuth(user, password) }
}

// noAuth sends no Authorization header.
func noAuth() reqOpt { return func(r *http.Request, _ *reqOpts) { r.Header.Del("Authorization") } }

// bearer authenticates with a token.
func bearer(tok string) reqOpt {
	return func(r *http.Request, _ *reqOpts) { r.Header.Set("Authorization", "Bearer "+tok) }
}

// chunked sends the body without Content-Length.
func chunked() reqOpt {
	return func(r *http.Request, _ *reqOpts) { r.ContentLength = -1; r.TransferEncoding = []string{"chunked"} }
}

// rawErrors accepts error answers that are not apie's JSON (a web
// server's own 403 page).
func rawErrors() reqOpt { return func(_ *http.Request, o *reqOpts) { o.rawErrors = true } }

// do sends method path (relative to the target's base, or an absolute
// URL on its origin) with body, through the apie client as the target's
// user unless an option says otherwise, and reads the whole answer. Every
// error answer is checked to be apie's JSON error shape with a JSON
// content type, so no row can forget to.
func (tg *target) do(t testing.TB, method, path string, body []byte, opts ...reqOpt) *reply {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	api := tg.api(t)
	req, err := api.NewRequest(t.Context(), method, path, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body)) // hide the length from chunked()
		req.ContentLength = int64(len(body))
	}
	var o reqOpts
	for _, opt := range opts {
		opt(req, &o)
	}
	resp, err := api.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	r := &reply{status: resp.StatusCode, header: resp.Header, body: b}
	if r.status >= 400 && !o.rawErrors {
		checkErrorShape(t, method, path, r)
	}
	return r
}

// checkErrorShape checks an error answer: a JSON content type and, unless
// it is an answer to HEAD, {"status":"error","errorMessage":"…"}.
func checkErrorShape(t testing.TB, method, path string, r *reply) {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("%s %s: error %d has Content-Type %q, want application/json; body %q", method, path, r.status, r.header.Get("Content-Type"), r.body)
	}
	if method == http.MethodHead {
		return
	}
	var e struct {
		Status       string `json:"status"`
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Status != "error" || e.ErrorMessage == "" {
		t.Errorf(`%s %s: error %d body %q, want {"status":"error","errorMessage":"…"}`, method, path, r.status, r.body)
	}
}

// want fails the test unless the status is code.
func (r *reply) want(t testing.TB, code int) *reply {
	t.Helper()
	if r.status != code {
		t.Fatalf("got status %d, want %d; body %q", r.status, code, truncate(r.body))
	}
	return r
}

// json decodes the body into v.
func (r *reply) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode body %q: %v", truncate(r.body), err)
	}
}

// wantHeader fails the test unless header k is exactly v.
func (r *reply) wantHeader(t testing.TB, k, v string) {
	t.Helper()
	if got := r.header.Get(k); got != v {
		t.Errorf("header %s: got %q, want %q", k, got, v)
	}
}

// wantNoHeader fails the test if header k is present.
func (r *reply) wantNoHeader(t testing.TB, k string) {
	t.Helper()
	if got, ok := r.header[http.CanonicalHeaderKey(k)]; ok {
		t.Errorf("header %s: got %q, want none", k, got)
	}
}

// wantContentType fails the test unless the media type is mt.
func (r *reply) wantContentType(t testing.TB, mt string) {
	t.Helper()
	got, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if got != mt {
		t.Errorf("Content-Type: got %q, want %q", r.header.Get("Content-Type"), mt)
	}
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
