package faults

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// maxMode returns the widest mode apie's defaults allow for path (relative
// to the store's directory), and whether apie made it at all.
func maxMode(rel string, isDir bool) (fs.FileMode, bool) {
	top, _, _ := strings.Cut(rel, string(filepath.Separator))
	switch {
	case rel == "." || rel == "apie.json":
		return 0, false // the test's own
	case isDir:
		return 0o750, true // rwxr-x---
	case top == "events":
		return 0o640, true // rw-r-----
	case top == "blobs":
		return 0o440, true // r--r-----
	case rel == "passwd", rel == "passwd.lock", rel == "token.key":
		return 0o600, true // rw-------
	}
	return 0, true
}

// TestFileModes checks the modes apie gives what it creates, with a
// permissive umask: nothing wider than rw-r----- for the log's files,
// r--r----- for blobs, rw------- for passwd and the token key, rwxr-x---
// for directories; and that verify puts a widened mode back.
func TestFileModes(t *testing.T) {
	r := newRow(t, rowModes, "umask 000; a store with events, blobs, users and a token key; every file's mode checked; then a log file and a blob chmod 0666 and verify run")
	// The processes started below inherit the umask; tests here do not
	// run in parallel, so no other test sees it.
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	s := seedStore(t, t.TempDir(), 5)
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	if res := c.must(t, "POST", "/auth/token", nil, nil); res.status != http.StatusOK {
		t.Fatalf("POST /auth/token: status %d", res.status)
	}
	srv.Shutdown(t)
	n := 0
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.dir, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		limit, ours := maxMode(rel, d.IsDir())
		if !ours {
			return nil
		}
		n++
		if extra := fi.Mode().Perm() &^ limit; extra != 0 {
			t.Errorf("%s has mode %s, wider than %s", rel, fi.Mode().Perm(), limit)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.path("events", "log"), s.path("blobs", s.blobHash[:2], s.blobHash)} {
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	s.mustVerify(t)
	for p, want := range map[string]fs.FileMode{s.path("events", "log"): 0o640, s.path("blobs", s.blobHash[:2], s.blobHash): 0o440} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("after verify %s has mode %v (%v), want %s", p, fi.Mode().Perm(), err, want)
		}
	}
	if t.Failed() {
		return
	}
	r.pass(n, "no file or directory wider than its default (log files rw-r-----, blobs and their metadata r--r-----, passwd and token key rw-------, directories rwxr-x---) even under umask 000; verify put widened modes back")
}
