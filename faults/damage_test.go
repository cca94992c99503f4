package faults

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// noPanic fails the test if a process's output shows a crash.
func noPanic(t testing.TB, what, out string) {
	t.Helper()
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Fatalf("%s crashed:\n%s", what, out)
	}
}

// mustNotStart checks that apie-serve refuses to start on s, exiting 1
// with a message holding every one of want, without crashing.
func mustNotStart(t testing.TB, s *store, o serverOptions, want ...string) string {
	t.Helper()
	srv, err := s.tryStart(t, o)
	if err == nil {
		srv.Kill()
		t.Fatalf("apie-serve started; want it to refuse")
	}
	if srv == nil {
		t.Fatalf("apie-serve: %v", err)
	}
	out := srv.Output.String()
	noPanic(t, "apie-serve", out)
	if code := srv.ExitCode(); code != 1 {
		t.Fatalf("apie-serve refused to start with exit code %d, want 1:\n%s", code, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("apie-serve refused to start, but its message does not say %q:\n%s", w, out)
		}
	}
	return out
}

// mustFailCGI runs r through apie-cgi and checks a JSON error of status
// want whose log line (stderr) holds every one of logWant.
func mustFailCGI(t testing.TB, s *store, r cgiRequest, want int, logWant ...string) {
	t.Helper()
	res, stderr := s.runCGI(t, r)
	noPanic(t, "apie-cgi", stderr)
	if res.status != want || !isJSONError(res.body) {
		t.Fatalf("apie-cgi %s %s: status %d %q, want %d and a JSON error", r.method, r.pathInfo, res.status, res.body, want)
	}
	for _, w := range logWant {
		if !strings.Contains(stderr, w) {
			t.Fatalf("apie-cgi %s %s: the log does not say %q:\n%s", r.method, r.pathInfo, w, stderr)
		}
	}
}

// TestReadOnlyDataDir remounts the store's file system read-only (EROFS
// even for root): apie-serve refuses to start and names the file, CGI
// requests get a JSON error and a log line naming it, verify exits 1;
// writable again, everything is intact.
func TestReadOnlyDataDir(t *testing.T) {
	r := newRow(t, rowReadOnly, "store remounted read-only (mount -o remount,ro); apie-serve start, CGI GET/POST /events, CGI GET/PUT /storage, verify; remounted writable")
	mnt := mountTmpfs(t, "8m")
	s := seedStore(t, mnt, 10)
	remount(t, mnt, true)
	mustNotStart(t, s.store, serverOptions{}, s.path("events"), "read-only file system")
	mustFailCGI(t, s.store, cgiAs(cgiRequest{method: "GET", pathInfo: "/events"}), http.StatusInternalServerError,
		s.path("events"), "read-only file system")
	mustFailCGI(t, s.store, cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: appendBody(1, false, 10)}),
		http.StatusInternalServerError, s.path("events"), "read-only file system")
	res, _ := s.runCGI(t, cgiAs(cgiRequest{method: "GET", pathInfo: "/storage/" + s.blobHash}))
	if res.status != http.StatusOK || !bytes.Equal(res.body, s.blob) {
		t.Fatalf("GET of a stored blob from a read-only store: status %d, %d bytes; want 200 and the blob", res.status, len(res.body))
	}
	mustFailCGI(t, s.store, cgiAs(cgiRequest{method: "PUT", pathInfo: "/storage/x.bin", body: []byte("new")}),
		http.StatusInternalServerError, s.path("blobs"), "read-only file system")
	out, code := s.verify(t)
	noPanic(t, "apie-serve verify", out)
	if code != 1 || !strings.Contains(out, s.path("events")) {
		t.Fatalf("apie-serve verify on a read-only store: exit %d, want 1 naming %s:\n%s", code, s.path("events"), out)
	}
	remount(t, mnt, false)
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	checkServerLog(t, c, s.led)
	checkBlobs(t, c, s.led)
	mustAppend(t, c, s.led, appendBody(1, false, 10))
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(6,
		"apie-serve exits 1 naming the file and EROFS; CGI answers a JSON 500 and logs the file; stored blobs still served; verify exit 1 naming the file; no crash; writable again: all intact, appends resume")
}

// TestWrongOwner runs apie as another user (nobody) on a data directory it
// may not read (as root: mode bits would not stop root), as a CGI script
// running under the wrong account would: clear errors naming the file,
// no crash, nothing changed.
func TestWrongOwner(t *testing.T) {
	r := newRow(t, rowWrongOwner, "data owned by root, modes 0750/0640/0600; apie-serve start, CGI GET /events and verify run as nobody")
	if os.Geteuid() != 0 {
		cannotMount(t, "running apie as another user needs root")
	}
	dir, err := os.MkdirTemp("", "apie-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := seedStore(t, dir, 5)
	before := snapshot(t, dir)
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	mustNotStart(t, s.store, serverOptions{cred: nobody}, "permission denied", dir, "the README's Permissions section")
	mustFailCGI(t, s.store, cgiAs(cgiRequest{method: "GET", pathInfo: "/events", cred: nobody}),
		http.StatusInternalServerError, "permission denied", s.path("passwd"))
	out, code := s.adminAs(t, nobody, "", "verify")
	noPanic(t, "apie-serve verify", out)
	if code != 1 || !strings.Contains(out, "permission denied") || !strings.Contains(out, s.path("events")) {
		t.Fatalf("apie-serve verify as nobody: exit %d, want 1 naming %s:\n%s", code, s.path("events"), out)
	}
	if after := snapshot(t, dir); after != before {
		t.Fatalf("running as the wrong user changed the data directory:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	s.mustVerify(t)
	r.pass(3,
		"apie-serve exits 1 naming the path (permission denied); CGI answers a JSON 500 and logs the passwd path; verify exit 1 naming the log directory; no crash; nothing on disk changed")
}

// snapshot lists every file under dir with its size and mode.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b.WriteString(rel + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			b.WriteString(" " + strconv.FormatInt(fi.Size(), 10))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPasswdMissing removes the passwd file: nobody is let in, the answer
// is a JSON error and the log names the file; apie-serve makes the
// documented first user.
func TestPasswdMissing(t *testing.T) {
	r := newRow(t, rowPasswdMissing, "passwd renamed away; CGI GET /info and GET /; apie-serve start")
	s := newStore(t, t.TempDir(), storeOptions{})
	if err := os.Rename(s.path("passwd"), s.path("passwd.away")); err != nil {
		t.Fatal(err)
	}
	// Nobody can log in (401, or 500 for a fault), and the operator is told
	// which file is missing: a CGI process's stderr is the web server's
	// error log.
	res, stderr := s.runCGI(t, cgiAs(cgiRequest{method: "GET", pathInfo: "/info"}))
	noPanic(t, "apie-cgi", stderr)
	if (res.status != http.StatusUnauthorized && res.status != http.StatusInternalServerError) || !isJSONError(res.body) {
		t.Fatalf("CGI GET /info without passwd: status %d %q, want 401 or 500 and a JSON error", res.status, res.body)
	}
	if !strings.Contains(stderr, s.path("passwd")) {
		t.Errorf("CGI GET /info without passwd: %d, but nothing in the log names the missing file %s; stderr: %q",
			res.status, s.path("passwd"), stderr)
	}
	if res, _ := s.runCGI(t, cgiRequest{method: "GET", pathInfo: "/"}); res.status != http.StatusOK {
		t.Fatalf("GET / without passwd: status %d, want 200 (it needs no login)", res.status)
	}
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	if res := c.must(t, "GET", "/info", nil, nil); res.status != http.StatusUnauthorized {
		t.Fatalf("apie-serve on a new passwd: alice got %d, want 401", res.status)
	}
	// The password is printed once the user is stored, which a request
	// with credentials waits for; its line reaches the test's copy of
	// apie-serve's output through a pipe, a moment later.
	waitFor(t, 10*time.Second, "apie-serve without passwd: the documented first start (a new user, its password printed once)", func() bool {
		return strings.Contains(srv.Output.String(), "First start: created user admin")
	})
	srv.Shutdown(t)
	r.pass(3, "CGI: nobody let in (JSON 401), the log names the missing passwd path, GET / still 200; apie-serve: the documented first start (a new admin user, its password printed once), old users refused")
}

// TestPasswdCorrupt puts a line that is not a user in the passwd file:
// nobody is let in, the answer is a JSON 500, the log names the file and
// line, the file is not rewritten, and a repaired file works at once.
func TestPasswdCorrupt(t *testing.T) {
	r := newRow(t, rowPasswdCorrupt, "a non-user line in passwd: CGI GET /info; apie-serve start; then corrupted under a running server and repaired")
	s := newStore(t, t.TempDir(), storeOptions{})
	good, err := os.ReadFile(s.path("passwd"))
	if err != nil {
		t.Fatal(err)
	}
	bad := append(append([]byte("# users\n"), good...), []byte("this line is not a user\n")...)
	if err := os.WriteFile(s.path("passwd"), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	mustFailCGI(t, s, cgiAs(cgiRequest{method: "GET", pathInfo: "/info"}), http.StatusInternalServerError, s.path("passwd")+":3")
	mustNotStart(t, s, serverOptions{}, s.path("passwd")+":3")
	// Damaged under a running server, then repaired.
	if err := os.WriteFile(s.path("passwd"), good, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	if res := c.must(t, "GET", "/info", nil, nil); res.status != http.StatusOK {
		t.Fatalf("GET /info with a good passwd: status %d", res.status)
	}
	writeAtomic(t, s.path("passwd"), bad)
	for _, who := range []*client{c, srv.client(alice, "wrong"), srv.client("mallory@example.com", "x")} {
		res := who.must(t, "GET", "/info", nil, nil)
		if res.status != http.StatusInternalServerError || !isJSONError(res.body) {
			t.Fatalf("GET /info as %s with a corrupt passwd: status %d %q, want a JSON 500", who.user, res.status, res.body)
		}
	}
	if !strings.Contains(srv.Output.String(), s.path("passwd")+":3") {
		t.Fatalf("apie-serve with a corrupt passwd: the log does not name %s:3:\n%s", s.path("passwd"), srv.Output)
	}
	if now, _ := os.ReadFile(s.path("passwd")); !bytes.Equal(now, bad) {
		t.Fatalf("the corrupt passwd was rewritten:\n%s", now)
	}
	writeAtomic(t, s.path("passwd"), good)
	if res := c.must(t, "GET", "/info", nil, nil); res.status != http.StatusOK {
		t.Fatalf("GET /info once passwd is repaired: status %d, want 200", res.status)
	}
	srv.Shutdown(t)
	r.pass(6, "JSON 500 and a log line naming passwd:3 (CGI and server); apie-serve refuses to start naming passwd:3; nobody let in, even with the right password; file not rewritten; the repaired file works without a restart")
}

// writeAtomic replaces path with data by rename, as an editor would.
func writeAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
