package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/internal/testutil"
)

// These tests run the real apie-serve binary: built once, started on free
// loopback ports, driven over HTTP, stopped with signals.

var binary string

func TestMain(m *testing.M) {
	b, err := testutil.BuildBinaries(context.Background(), "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "build apie-serve: %v\n", err)
		os.Exit(1)
	}
	binary = b.Serve
	code := m.Run()
	os.RemoveAll(b.Dir)
	os.Exit(code)
}

// server is a running apie-serve; its log (stderr) is in Output, its
// standard output (where a first start prints the password) apart.
type server struct {
	*testutil.Serve
	stdout *testutil.SyncBuffer
}

// start runs apie-serve in dir and waits until it listens.
func start(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	stdout := &testutil.SyncBuffer{}
	s := testutil.StartServe(t, testutil.ServeOptions{Binary: binary, Dir: dir, Args: args, Stdout: stdout})
	return &server{Serve: s, stdout: stdout}
}

// writeConfig writes an apie.json in dir using bcrypt cost 4, for speed.
func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "apie.json")
	if err := os.WriteFile(p, []byte(`{"auth":{"bcryptCost":4}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var passwordLine = regexp.MustCompile(`created user (\S+) with password (\S+)`)

func TestFirstStartCreatesUser(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	s := start(t, dir, "-config", cfg)
	s.Shutdown(t)
	m := passwordLine.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no first-user line in stdout:\n%s", s.stdout)
	}
	if m[1] != "admin" {
		t.Fatalf("got user %q, want admin", m[1])
	}
	if strings.Contains(s.Output.String(), m[2]) {
		t.Fatal("the password appears in the log")
	}
	// A second start must not create another user or print a password.
	s2 := start(t, dir, "-config", cfg)
	if code, _ := call(t, "GET", s2.URL+"/info", m[1]+":"+m[2], ""); code != 200 {
		t.Fatalf("GET /info with the printed password: got %d, want 200", code)
	}
	s2.Shutdown(t)
	if strings.Contains(s2.stdout.String(), "password") {
		t.Fatalf("second start printed a password:\n%s", s2.stdout)
	}
	for _, name := range []string{"apie-data/events/log", "apie-data/passwd", "apie-data/blobs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("first start did not create %s: %v", name, err)
		}
	}
}

func call(t *testing.T, method, url, userpass, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if u, p, ok := strings.Cut(userpass, ":"); ok {
		req.SetBasicAuth(u, p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// adminCmd runs apie-serve's admin command line in dir with config cfg.
func adminCmd(dir, cfg string) testutil.Command {
	return testutil.Command{Path: binary, Args: []string{"-config", cfg}, Dir: dir}
}

// addUser adds a user through the admin command line, password on stdin.
func addUser(t *testing.T, dir, cfg, email, password string) {
	t.Helper()
	adminCmd(dir, cfg).AddUser(t, email, password)
}

// appendLoop appends n events to url as user and sends each acknowledged
// hash to acked.
func appendLoop(url, userpass string, n int, tag string, acked chan<- string) {
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"eventType":"t","body":{"from":%q,"i":%d}}`, tag, i)
		req, _ := http.NewRequest("POST", url+"/events", strings.NewReader(body))
		u, p, _ := strings.Cut(userpass, ":")
		req.SetBasicAuth(u, p)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // the server is gone
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			acked <- resp.Header.Get("X-Apie-Hash")
		} else if resp.StatusCode >= 500 || resp.StatusCode == 0 {
			return
		}
	}
}

// readLog returns every event hash in the log, in order, via verify-free
// NDJSON reading through a server.
func readLog(t *testing.T, url, userpass string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/events", nil)
	req.Header.Set("Accept", "application/x-ndjson")
	u, p, _ := strings.Cut(userpass, ":")
	req.SetBasicAuth(u, p)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hashes []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	prev := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for sc.Scan() {
		var ev struct {
			Seq      int    `json:"seq"`
			Hash     string `json:"hash"`
			PrevHash string `json:"prevHash"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad NDJSON line: %v", err)
		}
		if ev.PrevHash != prev || ev.Seq != len(hashes)+1 {
			t.Fatalf("chain broken at seq %d", ev.Seq)
		}
		prev = ev.Hash
		hashes = append(hashes, ev.Hash)
	}
	return hashes
}

func verifyOffline(t *testing.T, dir, cfg string) {
	t.Helper()
	out := adminCmd(dir, cfg).Must(t, "", "verify")
	if !strings.Contains(out, "events: ok") {
		t.Fatalf("verify output lacks 'events: ok':\n%s", out)
	}
}

// TestTwoServersOneDirectory runs two apie-serve processes on one data
// directory with clients appending to both at once: nothing is lost and the
// chain stays one.
func TestTwoServersOneDirectory(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	addUser(t, dir, cfg, "w@example.com", "secret")
	const userpass = "w@example.com:secret"
	a := start(t, dir, "-config", cfg)
	b := start(t, dir, "-config", cfg)
	acked := make(chan string, 1000)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		for _, s := range []*server{a, b} {
			wg.Add(1)
			go func(url, tag string) {
				defer wg.Done()
				appendLoop(url, userpass, 40, tag, acked)
			}(s.URL, fmt.Sprintf("%s-%d", s.URL, i))
		}
	}
	wg.Wait()
	close(acked)
	want := map[string]bool{}
	for h := range acked {
		want[h] = true
	}
	if len(want) != 4*2*40 {
		t.Fatalf("got %d acknowledged appends, want %d", len(want), 4*2*40)
	}
	for _, s := range []*server{a, b} {
		got := readLog(t, s.URL, userpass)
		if len(got) != len(want) {
			t.Fatalf("%s: log has %d events, want %d", s.URL, len(got), len(want))
		}
		for _, h := range got {
			if !want[h] {
				t.Fatalf("%s: unexpected event %s", s.URL, h)
			}
		}
	}
	a.Shutdown(t)
	b.Shutdown(t)
	verifyOffline(t, dir, cfg)
}

// TestGracefulStopKeepsAppends sends SIGTERM while clients append: the
// server exits cleanly and every acknowledged event is in the log.
func TestGracefulStopKeepsAppends(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	addUser(t, dir, cfg, "w@example.com", "secret")
	const userpass = "w@example.com:secret"
	s := start(t, dir, "-config", cfg)
	acked := make(chan string, 100000)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(tag string) {
			defer wg.Done()
			appendLoop(s.URL, userpass, 100000, tag, acked)
		}(fmt.Sprint(i))
	}
	for len(acked) < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	s.Shutdown(t)
	wg.Wait()
	close(acked)
	s2 := start(t, dir, "-config", cfg)
	have := map[string]bool{}
	for _, h := range readLog(t, s2.URL, userpass) {
		have[h] = true
	}
	n := 0
	for h := range acked {
		n++
		if !have[h] {
			t.Fatalf("acknowledged event %s is missing after a graceful stop", h)
		}
	}
	t.Logf("%d acknowledged appends before and during the stop, all kept", n)
	s2.Shutdown(t)
	verifyOffline(t, dir, cfg)
}

func TestCPUProfileFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	addUser(t, dir, cfg, "p@example.com", "secret")
	prof := filepath.Join(dir, "cpu.prof")
	s := start(t, dir, "-config", cfg, "-cpuprofile", prof)
	if code, body := call(t, "POST", s.URL+"/events", "p@example.com:secret", `{"eventType":"t","body":1}`); code != http.StatusCreated {
		t.Fatalf("append: got %d %s, want 201", code, body)
	}
	s.Shutdown(t)
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("got a profile of %d bytes starting %q, want a gzipped profile", len(b), b[:min(len(b), 2)])
	}

	help := exec.Command(binary, "-h")
	out, _ := help.CombinedOutput()
	if !strings.Contains(string(out), "-read-timeout") || strings.Contains(string(out), "cpuprofile") {
		t.Errorf("got -h output %q, want the flags without the hidden -cpuprofile", out)
	}
}

func TestLogSink(t *testing.T) {
	var out testutil.SyncBuffer
	s := newLogSink(&out)
	io.WriteString(s.buffered(), "request 1\n")
	io.WriteString(s.buffered(), "request 2\n")
	if got := out.String(); got != "" {
		t.Fatalf("after buffered lines: got %q, want nothing written yet", got)
	}
	io.WriteString(s.immediate(), "warning\n")
	if got, want := out.String(), "request 1\nrequest 2\nwarning\n"; got != want {
		t.Fatalf("after an immediate line: got %q, want %q", got, want)
	}
	io.WriteString(s.buffered(), "request 3\n")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "request 1\nrequest 2\nwarning\nrequest 3\n"; got != want {
		t.Fatalf("after Flush: got %q, want %q", got, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.flushEvery(ctx, time.Millisecond); close(done) }()
	io.WriteString(s.buffered(), "request 4\n")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasSuffix(out.String(), "request 4\n") {
		if time.Now().After(deadline) {
			t.Fatalf("flushEvery: got %q, want request 4 written within 10s", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}
