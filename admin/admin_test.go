package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/app"
	"apie/auth"
	"apie/config"
)

// run runs one admin command with stdin and returns its exit code and output.
func run(t *testing.T, cfg config.Config, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Env{Config: cfg, Version: "test", Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}, args)
	return code, out.String(), errOut.String()
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Defaults(t.TempDir())
	cfg.Auth.BcryptCost = 4
	return cfg
}

func TestUserCommands(t *testing.T) {
	cfg := testConfig(t)
	steps := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // a part of stdout
		wantErr  string // a part of stderr
	}{
		{"list before any user", "", []string{"user", "list"}, 1, "", "no users file at " + cfg.Passwd.Path},
		{"passwd before any user", "pw\n", []string{"user", "passwd", "a@example.com"}, 1, "", "no users file"},
		{"rm before any user", "", []string{"user", "rm", "a@example.com"}, 1, "", "no users file"},
		{"verify before any store", "", []string{"verify"}, 1, "events: cannot verify: no event log at " + cfg.EventLog.Path, ""},
		{"add on a fresh install", "pw-one\n", []string{"user", "add", "a@example.com", "Alice"}, 0, "added a@example.com", ""},
		{"add again", "pw\n", []string{"user", "add", "a@example.com"}, 1, "", "already exists"},
		{"add without password", "\n", []string{"user", "add", "b@example.com"}, 1, "", "password must be"},
		{"add second", "pw-two", []string{"user", "add", "b@example.com"}, 0, "added b@example.com", ""},
		{"list", "", []string{"user", "list"}, 0, "a@example.com\tAlice\nb@example.com\t\n", ""},
		{"passwd", "pw-new\n", []string{"user", "passwd", "a@example.com"}, 0, "password changed", ""},
		{"passwd unknown", "x\n", []string{"user", "passwd", "nobody@example.com"}, 1, "", "no such user"},
		{"rm", "", []string{"user", "rm", "b@example.com"}, 0, "removed b@example.com", ""},
		{"rm unknown", "", []string{"user", "rm", "b@example.com"}, 1, "", "no such user"},
		{"bad subcommand", "", []string{"user", "frob"}, 2, "", "bad user command"},
		{"unknown command", "", []string{"frob"}, 2, "", "unknown command"},
		{"version", "", []string{"version"}, 0, "apie test", ""},
	}
	for i, s := range steps {
		if i == 4 {
			// Nothing before "user add" made a file or directory.
			if _, err := os.Stat(filepath.Dir(cfg.Passwd.Path)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("before the first user add, %s exists (%v)", filepath.Dir(cfg.Passwd.Path), err)
			}
		}
		code, out, errOut := run(t, cfg, s.stdin, s.args...)
		if code != s.wantCode || !strings.Contains(out, s.wantOut) || !strings.Contains(errOut, s.wantErr) {
			t.Fatalf("%s: got code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q",
				s.name, code, out, errOut, s.wantCode, s.wantOut, s.wantErr)
		}
	}
	// The changed password is the one that works now.
	p, err := auth.ReadPasswd(cfg.Passwd.Path)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := auth.NewChecker(auth.Options{PasswdPath: cfg.Passwd.Path, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	basic := func(user, pw string) string {
		return "Basic " + b64(user+":"+pw)
	}
	if _, err := checker.Check(context.Background(), basic("a@example.com", "pw-new"), ""); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	if _, err := checker.Check(context.Background(), basic("a@example.com", "pw-one"), ""); err == nil {
		t.Fatal("old password still accepted")
	}
	if len(p.Entries()) != 1 {
		t.Fatalf("got %d users, want 1", len(p.Entries()))
	}
}

// TestVerifyCommand checks that verify never makes a store: none is an
// error, exit 1; an event log without a blob directory (CGI makes it at
// the first upload) verifies, and stays without one.
func TestVerifyCommand(t *testing.T) {
	cfg := testConfig(t)
	data := filepath.Dir(cfg.EventLog.Path)
	code, out, _ := run(t, cfg, "", "verify")
	if code != 1 || !strings.Contains(out, "no event log at "+cfg.EventLog.Path) || !strings.Contains(out, "-config") {
		t.Fatalf("verify with no store: code %d, output %q; want 1 naming the missing log and -config", code, out)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("verify with no store made %s (%v)", data, err)
	}
	stores := app.NewStores(cfg, nil)
	if _, err := stores.EventLog(context.Background()); err != nil {
		t.Fatal(err)
	}
	stores.Close()
	code, out, _ = run(t, cfg, "", "verify")
	if code != 0 || !strings.Contains(out, "events: ok, 0 events") || !strings.Contains(out, "blobs: ok, none stored yet") {
		t.Fatalf("verify of an empty log, no blobs: code %d, output %q", code, out)
	}
	if _, err := os.Stat(cfg.ContentStore.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("verify made the blob directory %s (%v)", cfg.ContentStore.Path, err)
	}
	stores = app.NewStores(cfg, nil)
	if _, err := stores.BlobStore(context.Background()); err != nil {
		t.Fatal(err)
	}
	stores.Close()
	code, out, _ = run(t, cfg, "", "verify")
	if code != 0 || !strings.Contains(out, "events: ok, 0 events") || !strings.Contains(out, "blobs: ok, 0 blobs") {
		t.Fatalf("verify of an empty store: code %d, output %q", code, out)
	}
}

func TestEnsureFirstUser(t *testing.T) {
	cfg := testConfig(t)
	var out bytes.Buffer
	made, err := EnsureFirstUser(context.Background(), cfg, "admin", "http://127.0.0.1:1", &out)
	if err != nil || !made {
		t.Fatalf("first call: made %v, err %v", made, err)
	}
	if !strings.Contains(out.String(), "created user admin with password ") {
		t.Fatalf("no password line: %q", out.String())
	}
	out.Reset()
	made, err = EnsureFirstUser(context.Background(), cfg, "admin", "http://127.0.0.1:1", &out)
	if err != nil || made || out.Len() != 0 {
		t.Fatalf("second call: made %v, err %v, output %q; want nothing done", made, err, out.String())
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
