package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apieclient "apie/client"
	"apie/internal/testutil"
)

// A store is an apie configuration and its data directory on disk.
type store struct {
	dir  string // holds apie.json, passwd and the data
	conf string // path of apie.json
}

// storeOptions are the settings of a test store; zero values are the test
// defaults (bcrypt cost 4, apie's limits).
type storeOptions struct {
	BcryptCost int
	BlobBytes  int64
	Admins     []string // apie.json "admins"; nil: not set
}

// Test users, added by newStore.
const (
	alice   = "alice@example.com"
	alicePW = "correct horse battery staple"
)

// newStore writes apie.json in dir (created if absent) with the data under
// it and adds the user alice.
func newStore(t testing.TB, dir string, o storeOptions) *store {
	t.Helper()
	if o.BcryptCost == 0 {
		o.BcryptCost = 4
	}
	conf := map[string]any{
		"eventlog":     map[string]any{"path": "events"},
		"contentstore": map[string]any{"path": "blobs"},
		"passwd":       map[string]any{"path": "passwd"},
		"auth":         map[string]any{"bcryptCost": o.BcryptCost, "tokenKey": "token.key"},
	}
	if o.BlobBytes > 0 {
		conf["limits"] = map[string]any{"blobBytes": o.BlobBytes}
	}
	if o.Admins != nil {
		conf["admins"] = o.Admins
	}
	data, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &store{dir: dir, conf: filepath.Join(dir, "apie.json")}
	if err := os.WriteFile(s.conf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s.addUser(t, alice, alicePW)
	return s
}

// path returns the path of name inside the store's directory.
func (s *store) path(name ...string) string {
	return filepath.Join(append([]string{s.dir}, name...)...)
}

// addUser adds a user with the admin command line.
func (s *store) addUser(t testing.TB, email, password string) {
	t.Helper()
	out, code := s.admin(t, password+"\n", "user", "add", email)
	if code != 0 {
		t.Fatalf("apie-serve user add %s: exit %d\n%s", email, code, out)
	}
}

// admin runs an apie-serve admin command and returns its combined output
// and exit code.
func (s *store) admin(t testing.TB, stdin string, args ...string) (string, int) {
	t.Helper()
	return s.adminAs(t, nil, stdin, args...)
}

// adminAs is admin run as the user cred (nil: this process's user).
func (s *store) adminAs(t testing.TB, cred *syscall.Credential, stdin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := testutil.Command{Path: bin.serve, Args: []string{"-config", s.conf}, Cred: cred}
	out, code, err := c.Run(ctx, stdin, args...)
	if err != nil {
		t.Fatalf("apie-serve %s: %v", strings.Join(args, " "), err)
	}
	return out, code
}

// verify runs `apie-serve verify` and returns its output and exit code.
func (s *store) verify(t testing.TB) (string, int) {
	t.Helper()
	return s.admin(t, "", "verify")
}

// mustVerify fails the test unless `apie-serve verify` exits 0.
func (s *store) mustVerify(t testing.TB) string {
	t.Helper()
	out, code := s.verify(t)
	if code != 0 {
		t.Fatalf("apie-serve verify: exit %d, want 0\n%s", code, out)
	}
	return out
}

// A server is a running apie-serve process.
type server struct{ *testutil.Serve }

// serverOptions adjust how a server is started.
type serverOptions struct {
	args []string            // extra flags
	env  []string            // extra environment
	cred *syscall.Credential // run as this user
}

// start runs apie-serve on the store, on a free port of 127.0.0.1, and
// waits until it listens. The process is killed when the test ends.
func (s *store) start(t testing.TB, o serverOptions) *server {
	t.Helper()
	return &server{testutil.StartServe(t, s.serveOptions(o))}
}

// tryStart is start for a test that expects a refusal: it returns an
// error if apie-serve exits (the exited server with it) or does not
// listen within 20 seconds (no server).
func (s *store) tryStart(t testing.TB, o serverOptions) (*server, error) {
	t.Helper()
	srv, err := testutil.TryStartServe(t, s.serveOptions(o))
	if srv == nil {
		return nil, err
	}
	return &server{srv}, err
}

func (s *store) serveOptions(o serverOptions) testutil.ServeOptions {
	return testutil.ServeOptions{Binary: bin.serve, Config: s.conf, Args: o.args, Env: o.env, Cred: o.cred}
}

// client returns an HTTP client for the server that authenticates as user.
func (srv *server) client(user, password string) *client {
	return &client{
		base: srv.URL, user: user, password: password,
		hc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}},
	}
}

// A client makes authenticated requests to one server.
type client struct {
	base, user, password string
	hc                   *http.Client
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// api is the apie client for c's server, as c's user (no credentials
// when c has none).
func (c *client) api() (*apieclient.Client, error) {
	opts := []apieclient.Option{apieclient.WithHTTPClient(c.hc)}
	if c.user != "" || c.password != "" {
		opts = append(opts, apieclient.WithBasicAuth(c.user, c.password))
	}
	return apieclient.New(c.base, opts...)
}

// do sends a request through the apie client, once (no retries: a lost
// answer is the test's to see); header values are set as given. A body of
// nil sends no body.
func (c *client) do(method, path string, body []byte, header map[string]string) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	api, err := c.api()
	if err != nil {
		return response{}, err
	}
	req, err := api.NewRequest(context.Background(), method, path, rd)
	if err != nil {
		return response{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := api.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// must is do that fails the test on a transport error.
func (c *client) must(t testing.TB, method, path string, body []byte, header map[string]string) response {
	t.Helper()
	res, err := c.do(method, path, body, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// close drops idle connections.
func (c *client) close() { c.hc.CloseIdleConnections() }

// rawRequest writes req as is on a new connection to addr and returns the
// response, so paths reach the server exactly as written.
func rawRequest(addr, req string) (*http.Response, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, nil, err
	}
	method, _, _ := strings.Cut(req, " ")
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res, body, err
}

// basicAuth returns the Authorization header value for user and password.
func basicAuth(user, password string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

// isJSONError reports whether body is apie's JSON error shape.
func isJSONError(body []byte) bool {
	var e struct {
		Status       string `json:"status"`
		ErrorMessage string `json:"errorMessage"`
	}
	return json.Unmarshal(body, &e) == nil && e.Status == "error" && e.ErrorMessage != ""
}
