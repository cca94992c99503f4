package admin

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

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
	for _, s := range steps {
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

func TestVerifyCommand(t *testing.T) {
	cfg := testConfig(t)
	code, out, _ := run(t, cfg, "", "verify")
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
