package cgi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"apie/app"
	"apie/auth"
	"apie/cgi"
	"apie/config"
)

// baseEnv is what every CGI request carries, as Apache sets it.
func baseEnv(extra ...string) []string {
	return append([]string{
		"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "SERVER_SOFTWARE=Apache",
		"SERVER_NAME=example.org", "SERVER_PORT=443", "HTTP_HOST=example.org", "REMOTE_ADDR=192.0.2.7",
		"SCRIPT_NAME=/~alice/apie/apie-cgi", "REQUEST_METHOD=GET", "PATH_INFO=/events", "QUERY_STRING=",
	}, extra...)
}

// basicAuth is the Authorization value for user and password.
func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// TestRequest checks how a CGI environment becomes a request: the route is
// PATH_INFO whatever REQUEST_URI says, the query is QUERY_STRING, the
// Authorization header comes from HTTP_AUTHORIZATION or, after a rewrite,
// REDIRECT_HTTP_AUTHORIZATION, and no more than CONTENT_LENGTH is read.
func TestRequest(t *testing.T) {
	cases := []struct {
		name       string
		env        []string
		body       string
		wantMethod string
		wantPath   string
		wantQuery  string
		wantAuth   string
		wantBody   string
	}{
		{name: "PATH_INFO is the route, not REQUEST_URI",
			env:        baseEnv("REQUEST_URI=/~alice/apie/apie-cgi/events?limit=2", "PATH_INFO=/events/abc"),
			wantMethod: "GET", wantPath: "/events/abc"},
		{name: "empty PATH_INFO is the root",
			env:        baseEnv("PATH_INFO="),
			wantMethod: "GET", wantPath: "/"},
		{name: "PATH_INFO without a leading slash",
			env:        baseEnv("PATH_INFO=info"),
			wantMethod: "GET", wantPath: "/info"},
		{name: "PATH_INFO arrives decoded and stays so",
			env:        baseEnv("PATH_INFO=/storage/a b%.txt"),
			wantMethod: "GET", wantPath: "/storage/a b%.txt"},
		{name: "QUERY_STRING is the query",
			env:        baseEnv("QUERY_STRING=after=abc&limit=2"),
			wantMethod: "GET", wantPath: "/events", wantQuery: "after=abc&limit=2"},
		{name: "HEAD",
			env:        baseEnv("REQUEST_METHOD=HEAD"),
			wantMethod: "HEAD", wantPath: "/events"},
		{name: "Authorization from HTTP_AUTHORIZATION (CGIPassAuth)",
			env:        baseEnv("HTTP_AUTHORIZATION=Basic YTpi"),
			wantMethod: "GET", wantPath: "/events", wantAuth: "Basic YTpi"},
		{name: "Authorization from REDIRECT_HTTP_AUTHORIZATION (a rewrite moved it)",
			env:        baseEnv("REDIRECT_HTTP_AUTHORIZATION=Basic YTpi"),
			wantMethod: "GET", wantPath: "/events", wantAuth: "Basic YTpi"},
		{name: "HTTP_AUTHORIZATION wins over REDIRECT_HTTP_AUTHORIZATION",
			env:        baseEnv("HTTP_AUTHORIZATION=Basic bmV3", "REDIRECT_HTTP_AUTHORIZATION=Basic b2xk"),
			wantMethod: "GET", wantPath: "/events", wantAuth: "Basic bmV3"},
		{name: "the body is read up to CONTENT_LENGTH only",
			env:  baseEnv("REQUEST_METHOD=POST", "CONTENT_LENGTH=5", "CONTENT_TYPE=application/json"),
			body: "hello, and more", wantMethod: "POST", wantPath: "/events", wantBody: "hello"},
		{name: "no CONTENT_LENGTH: no body",
			env:  baseEnv("REQUEST_METHOD=POST"),
			body: "ignored", wantMethod: "POST", wantPath: "/events"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := cgi.Request(tc.env, strings.NewReader(tc.body))
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if r.Method != tc.wantMethod {
				t.Errorf("method: got %q, want %q", r.Method, tc.wantMethod)
			}
			if r.URL.Path != tc.wantPath {
				t.Errorf("path: got %q, want %q", r.URL.Path, tc.wantPath)
			}
			if r.URL.RawQuery != tc.wantQuery {
				t.Errorf("query: got %q, want %q", r.URL.RawQuery, tc.wantQuery)
			}
			if got := r.Header.Get("Authorization"); got != tc.wantAuth {
				t.Errorf("Authorization: got %q, want %q", got, tc.wantAuth)
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if string(b) != tc.wantBody {
				t.Errorf("body: got %q, want %q", b, tc.wantBody)
			}
		})
	}
	t.Run("no REQUEST_METHOD is an error", func(t *testing.T) {
		env := baseEnv()
		for i, kv := range env {
			if strings.HasPrefix(kv, "REQUEST_METHOD=") {
				env = append(env[:i], env[i+1:]...)
				break
			}
		}
		if _, err := cgi.Request(env, http.NoBody); err == nil {
			t.Errorf("got no error, want one")
		}
	})
}

// cgiAnswer is a parsed CGI response.
type cgiAnswer struct {
	status int
	header http.Header
	body   []byte
}

// edge is apie-cgi's wiring (app, config defaults, real files) in a temp
// directory, answering each request with a fresh handler as a CGI process
// would.
type edge struct {
	cfg  config.Config
	auth string
}

func newEdge(t *testing.T) *edge {
	t.Helper()
	cfg := config.Defaults(t.TempDir())
	cfg.Auth.BcryptCost = 4
	if err := os.MkdirAll(filepath.Dir(cfg.Passwd.Path), 0o750); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword("pw", 4)
	if err != nil {
		t.Fatal(err)
	}
	err = auth.Update(context.Background(), cfg.Passwd.Path, cfg.Passwd.FileMode, func(p *auth.Passwd) error {
		return p.Add(auth.Entry{Email: "alice@example.org", Hash: hash})
	})
	if err != nil {
		t.Fatalf("add user: %v", err)
	}
	return &edge{cfg: cfg, auth: basicAuth("alice@example.org", "pw")}
}

// serve runs one CGI request through cgi.Serve with the app's handler and
// returns the parsed answer and how much of stdin was read.
func (e *edge) serve(t *testing.T, env []string, stdin string) (cgiAnswer, int) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	stores := app.NewStores(e.cfg, logger)
	defer stores.Close()
	checker, err := app.Checker(e.cfg, app.CGI, logger)
	if err != nil {
		t.Fatal(err)
	}
	h := app.Handler(e.cfg, app.CGI, stores, checker, logger)
	in := strings.NewReader(stdin)
	var out bytes.Buffer
	if err := cgi.Serve(h, env, in, &out); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("Status: ")) {
		t.Fatalf("the answer does not start with a Status line: %q", out.Bytes())
	}
	status, hdr, body := parseCGI(t, out.Bytes()) // strict; in request_fuzz_test.go
	return cgiAnswer{status: status, header: hdr, body: body}, len(stdin) - in.Len()
}

// post is the environment of a POST with body b.
func (e *edge) post(path, b string, extra ...string) []string {
	return baseEnv(append([]string{"REQUEST_METHOD=POST", "PATH_INFO=" + path, "HTTP_AUTHORIZATION=" + e.auth,
		"CONTENT_TYPE=application/json", "CONTENT_LENGTH=" + strconv.Itoa(len(b))}, extra...)...)
}

// TestServe runs requests through cgi.Serve and apie's real handler over
// real files, checking what only the CGI edge decides.
func TestServe(t *testing.T) {
	e := newEdge(t)
	const ev = `{"eventId":"0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01","eventType":"t","body":1}`
	var first string
	t.Run("GET of the script itself (no PATH_INFO) is the root, without auth", func(t *testing.T) {
		a, _ := e.serve(t, baseEnv("PATH_INFO="), "")
		if a.status != http.StatusOK || !strings.HasPrefix(string(a.body), "Apie ") {
			t.Errorf("got %d %q, want 200 \"Apie …\"", a.status, a.body)
		}
	})
	t.Run("Location goes back through SCRIPT_NAME", func(t *testing.T) {
		a, _ := e.serve(t, e.post("/events", ev), ev)
		if a.status != http.StatusCreated {
			t.Fatalf("got status %d, want 201; body %q", a.status, a.body)
		}
		first = a.header.Get("X-Apie-Hash")
		if got, want := a.header.Get("Location"), "/~alice/apie/apie-cgi/events/"+first; got != want {
			t.Errorf("got Location %q, want %q", got, want)
		}
	})
	t.Run("an idempotent retry (200) has no Location, which a CGI server would follow", func(t *testing.T) {
		a, _ := e.serve(t, e.post("/events", ev), ev)
		if a.status != http.StatusOK {
			t.Fatalf("got status %d, want 200; body %q", a.status, a.body)
		}
		if got := a.header.Get("Location"); got != "" {
			t.Errorf("got Location %q, want none", got)
		}
	})
	t.Run("Link goes back through SCRIPT_NAME, with the query", func(t *testing.T) {
		b := `{"eventType":"t","body":2}`
		if a, _ := e.serve(t, e.post("/events", b), b); a.status != http.StatusCreated {
			t.Fatalf("second append: got status %d", a.status)
		}
		a, _ := e.serve(t, baseEnv("HTTP_AUTHORIZATION="+e.auth, "QUERY_STRING=limit=1"), "")
		want := `</~alice/apie/apie-cgi/events?after=` + first + `&limit=1>; rel="next"`
		if got := a.header.Get("Link"); got != want {
			t.Errorf("got Link %q, want %q", got, want)
		}
		var evs []json.RawMessage
		if err := json.Unmarshal(a.body, &evs); err != nil || len(evs) != 1 {
			t.Errorf("got %q, want an array of one event", a.body)
		}
	})
	t.Run("HEAD answers headers and no body", func(t *testing.T) {
		a, _ := e.serve(t, baseEnv("REQUEST_METHOD=HEAD", "HTTP_AUTHORIZATION="+e.auth), "")
		if a.status != http.StatusOK || a.header.Get("X-Apie-Count") != "2" || len(a.body) != 0 {
			t.Errorf("got %d, count %q, body %q; want 200, 2, none", a.status, a.header.Get("X-Apie-Count"), a.body)
		}
	})
	t.Run("Authorization through REDIRECT_HTTP_AUTHORIZATION", func(t *testing.T) {
		a, _ := e.serve(t, baseEnv("PATH_INFO=/info", "REDIRECT_HTTP_AUTHORIZATION="+e.auth), "")
		if a.status != http.StatusOK {
			t.Errorf("got status %d, want 200; body %q", a.status, a.body)
		}
		a, _ = e.serve(t, baseEnv("PATH_INFO=/info"), "")
		if a.status != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") != `Basic realm="Apie"` {
			t.Errorf("without it: got %d %q, want 401 with WWW-Authenticate", a.status, a.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("If-None-Match: 304 with no body and no Content-Type", func(t *testing.T) {
		a, _ := e.serve(t, baseEnv("PATH_INFO=/events/"+first, "HTTP_AUTHORIZATION="+e.auth, `HTTP_IF_NONE_MATCH="`+first+`"`), "")
		if a.status != http.StatusNotModified || len(a.body) != 0 || a.header.Get("Content-Type") != "" {
			t.Errorf("got %d, Content-Type %q, body %q; want 304, none, none", a.status, a.header.Get("Content-Type"), a.body)
		}
	})
}

// TestServeReadsUnreadBodies checks that a request refused before its body
// is read (411, 401, 413) still has its body read, so the web server can
// deliver the answer, and that the answer is JSON.
func TestServeReadsUnreadBodies(t *testing.T) {
	e := newEdge(t)
	big := strings.Repeat("x", 17<<20) // over the default 16 MiB request limit
	cases := []struct {
		name   string
		env    []string
		stdin  string
		status int
	}{
		{"chunked, no Content-Length: 411", baseEnv("REQUEST_METHOD=POST", "HTTP_TRANSFER_ENCODING=chunked",
			"HTTP_AUTHORIZATION="+e.auth), `{"eventType":"t","body":1}`, http.StatusLengthRequired},
		{"no credentials: 401", baseEnv("REQUEST_METHOD=POST", "CONTENT_LENGTH=26"), `{"eventType":"t","body":1}`, http.StatusUnauthorized},
		{"over the request limit: 413", e.post("/events", big), big, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, read := e.serve(t, tc.env, tc.stdin)
			if a.status != tc.status {
				t.Errorf("got status %d, want %d; body %q", a.status, tc.status, a.body)
			}
			if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Errorf("got Content-Type %q, want JSON", a.header.Get("Content-Type"))
			}
			if read != len(tc.stdin) {
				t.Errorf("read %d bytes of the %d-byte body, want all", read, len(tc.stdin))
			}
		})
	}
	t.Run("a body beyond CONTENT_LENGTH is not read", func(t *testing.T) {
		b := `{"eventType":"t","body":1}`
		_, read := e.serve(t, e.post("/events", b), b+"trailing bytes the server did not announce")
		if read != len(b) {
			t.Errorf("read %d bytes, want %d", read, len(b))
		}
	})
}
