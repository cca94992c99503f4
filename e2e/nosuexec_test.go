package e2e

import (
	"apie/internal/testutil"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// groupConfig is the README's apie.json for a host without suEXEC: the
// web server's group may read and write what apie makes.
const groupConfig = `{
  "eventlog":     {"fileMode": "rw-rw----", "dirMode": "rwxrwx---"},
  "contentstore": {"fileMode": "r--r-----", "dirMode": "rwxrwx---"},
  "passwd":       {"fileMode": "rw-rw----"},
  "auth":         {"bcryptCost": 4}
}
`

// accountOwner is the shared-host account on a host without suEXEC: a
// user other than the web server's (nobody), and a member of its group,
// as the README's Permissions section asks.
func accountOwner(t *testing.T, web owner) owner {
	t.Helper()
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody to own the install: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == web.uid {
		t.Fatalf("the web server already runs as nobody; this test needs it to run as another user")
	}
	return owner{name: u.Username, uid: uid, gid: gid, cred: &syscall.Credential{
		Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(web.gid)}}}
}

// TestHostWithoutSuexec installs apie-cgi as one account while Apache runs
// CGI programs as another (www-data), as a host without suEXEC does.
// Following the deploy steps as the account gives files the web server
// may not read: every request must then say which file and to check its
// owner and mode, without a path. After the README's Permissions steps
// (group ownership, and the modes in apie.json) the site works, and the
// account's admin commands still do.
func TestHostWithoutSuexec(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "APIE_REQUIRE_APACHE", "running Apache as a user other than the files' owner needs root (CI runs as root)")
	}
	requireApache(t)
	b, web, docRoot := binaries(t), webOwner(t), tempDir(t)
	acct := accountOwner(t, web)
	a := startApache(t, apacheModes[0], web, docRoot)
	dir := filepath.Join(docRoot, "apie")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, b.CGI, filepath.Join(dir, "apie-cgi"), 0o755)
	copyFile(t, shippedHtaccess, filepath.Join(dir, ".htaccess"), 0o644)
	writeConfig(t, dir, testConfig)
	acct.chownTree(t, dir)
	mustRun(t, acct, dir, testPassword+"\n", nil, "./apie-cgi", "user", "add", testUser, testInfo)
	tg := newTarget("apie", a.URL(), "/apie/apie-cgi", testUser, testPassword, true)

	wantAdvice := func(what string) {
		t.Helper()
		r := tg.do(t, "GET", "/info", nil).want(t, http.StatusInternalServerError)
		body := string(r.body)
		if !strings.Contains(body, what) || !strings.Contains(body, "owner and mode") || !strings.Contains(body, "Permissions section") {
			t.Errorf("got %s, want it to say %q and to check owner and mode (README, Permissions)", body, what)
		}
		if strings.Contains(body, docRoot) || strings.Contains(body, "apie-data") {
			t.Errorf("the answer shows a path: %s", body)
		}
	}
	// apie.json 0600, owned by the account: the web server cannot read it.
	wantAdvice("cannot read its config file")
	g := web.group()
	mustRun(t, acct, dir, "", nil, "sh", "-c", "chgrp "+g+" apie.json && chmod 640 apie.json")
	// apie-data/ 0750 and passwd 0600, the account's.
	wantAdvice("cannot read its users file")

	// The README's Permissions steps, as the account.
	mustRun(t, acct, dir, groupConfig, nil, "sh", "-c", "cat > apie.json")
	mustRun(t, acct, dir, "", nil, "sh", "-c",
		"chgrp -R "+g+" apie-data && chmod 2770 apie-data && chmod 660 apie-data/passwd apie-data/passwd.lock")

	tg.do(t, "GET", "/info", nil).want(t, http.StatusOK)
	tg.do(t, "POST", "/events", []byte(`{"eventType":"hello","body":{"n":1}}`)).want(t, http.StatusCreated)
	tg.do(t, "PUT", "/storage/hello.txt", []byte("hello")).want(t, http.StatusCreated)
	var tok struct {
		Token string `json:"token"`
	}
	tg.do(t, "POST", "/auth/token", nil).want(t, http.StatusOK).json(t, &tok)
	tg.do(t, "GET", "/events", nil, bearer(tok.Token)).want(t, http.StatusOK)
	// The web server rewrites the users file; the account still reads it.
	tg.do(t, "POST", "/user/update", []byte(`{"info":"changed through the API"}`)).want(t, http.StatusOK)
	if out := mustRun(t, acct, dir, "", nil, "./apie-cgi", "user", "list"); !strings.Contains(out, "changed through the API") {
		t.Errorf("user list as the account:\n%s", out)
	}
	mustRun(t, acct, dir, "bob's password\n", nil, "./apie-cgi", "user", "add", "bob@example.org")
	tg.do(t, "GET", "/info", nil, basic("bob@example.org", "bob's password")).want(t, http.StatusOK)
	if out := mustRun(t, acct, dir, "", nil, "./apie-cgi", "verify"); !strings.Contains(out, "events: ok, 1 events") || !strings.Contains(out, "blobs: ok, 1 blobs") {
		t.Errorf("verify as the account:\n%s", out)
	}
	tg.do(t, "POST", "/events", []byte(`{"eventType":"hello","body":{"n":2}}`)).want(t, http.StatusCreated)
}
