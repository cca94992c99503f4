package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.serve, append([]string{"-config", s.conf}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("apie-serve %s: %v", strings.Join(args, " "), err)
	}
	return string(out), 0
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
type server struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addr   string // host:port it listens on
	exited chan struct{}
	err    error // the exit status, once exited is closed
}

// serverOptions adjust how a server is started.
type serverOptions struct {
	args []string            // extra flags
	env  []string            // extra environment
	cred *syscall.Credential // run as this user
}

var listening = regexp.MustCompile(`msg="apie-serve listening" addr=(\S+)`)

// start runs apie-serve on the store, on a free port of 127.0.0.1, and
// waits until it listens. The process is killed when the test ends.
func (s *store) start(t testing.TB, o serverOptions) *server {
	t.Helper()
	srv, err := s.tryStart(o)
	if err != nil {
		t.Fatalf("start apie-serve: %v", err)
	}
	t.Cleanup(func() { srv.kill() })
	return srv
}

// tryStart is start without the test: it returns an error if apie-serve
// exits or does not listen within 20 seconds.
func (s *store) tryStart(o serverOptions) (*server, error) {
	args := append([]string{"-config", s.conf, "-addr", "127.0.0.1:0"}, o.args...)
	cmd := exec.Command(bin.serve, args...)
	cmd.Env = append(os.Environ(), o.env...)
	if o.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred}
	}
	srv := &server{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = srv.stderr
	cmd.Stdout = srv.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { srv.err = cmd.Wait(); close(srv.exited) }()
	deadline := time.After(20 * time.Second)
	for {
		if m := listening.FindStringSubmatch(srv.stderr.String()); m != nil {
			srv.addr = m[1]
			return srv, nil
		}
		select {
		case <-srv.exited:
			return srv, fmt.Errorf("apie-serve exited (%v) before listening:\n%s", srv.err, srv.stderr)
		case <-deadline:
			srv.kill()
			return nil, fmt.Errorf("apie-serve did not listen within 20s:\n%s", srv.stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone. It reports
// whether the process was still running (false: it had exited already).
func (srv *server) kill() bool {
	select {
	case <-srv.exited:
		return false
	default:
	}
	srv.cmd.Process.Signal(syscall.SIGKILL)
	<-srv.exited
	return true
}

// stop asks the server to stop (SIGTERM) and waits; it fails the test if
// the server does not exit cleanly within 30 seconds.
func (srv *server) stop(t testing.TB) {
	t.Helper()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-srv.exited:
	case <-time.After(30 * time.Second):
		srv.kill()
		t.Fatalf("apie-serve did not stop within 30s of SIGTERM")
	}
	if srv.err != nil {
		t.Fatalf("apie-serve stopped with %v:\n%s", srv.err, srv.stderr)
	}
}

// client returns an HTTP client for the server that authenticates as user.
func (srv *server) client(user, password string) *client {
	return &client{
		base: "http://" + srv.addr, user: user, password: password,
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

// do sends a request; header values are set as given. A body of nil sends
// no body.
func (c *client) do(method, path string, body []byte, header map[string]string) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if c.user != "" || c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
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

// syncBuffer is a bytes.Buffer safe for a process to write while a test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// isJSONError reports whether body is apie's JSON error shape.
func isJSONError(body []byte) bool {
	var e struct {
		Status       string `json:"status"`
		ErrorMessage string `json:"errorMessage"`
	}
	return json.Unmarshal(body, &e) == nil && e.Status == "error" && e.ErrorMessage != ""
}
