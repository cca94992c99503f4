package faults

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStaleUploadTemp kills apie-serve during an upload and checks the
// temp file it leaves: kept while fresh (an upload may be in progress),
// removed at the next start once older than the threshold (an hour),
// with a log line; temp files of other names are left alone.
func TestStaleUploadTemp(t *testing.T) {
	r := newRow(t, rowStaleTemp, "SIGKILL during an upload; temp files planted fresh and 2 h old (os.Chtimes); restart")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	tmp := s.path("blobs", "tmp")
	// An upload whose body never ends: the server spools what came so far.
	pr, pw := io.Pipe()
	api, err := srv.client(alice, alicePW).api()
	if err != nil {
		t.Fatal(err)
	}
	req, err := api.NewRequest(t.Context(), "PUT", "/storage/never-finished.bin", pr)
	if err != nil {
		t.Fatal(err)
	}
	go api.Do(req)
	pw.Write(make([]byte, 100<<10))
	waitFor(t, 10*time.Second, "a temp file for the upload in tmp/", func() bool { return len(listParts(t, tmp)) == 1 })
	srv.Kill()
	pw.Close()
	left := listParts(t, tmp)
	if len(left) != 1 {
		t.Fatalf("after kill -9 during an upload: temp files %q, want one", left)
	}
	// Planted: a stale temp file, a fresh one, and a stale file that is
	// not an upload temp file.
	for _, name := range []string{"planted-stale.part", "planted-fresh.part", "planted-other"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("x"), 0o440); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"planted-stale.part", "planted-other"} {
		if err := os.Chtimes(filepath.Join(tmp, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	srv = s.start(t, serverOptions{})
	srv.Shutdown(t)
	got := listParts(t, tmp)
	want := []string{"planted-fresh.part", filepath.Base(left[0])}
	if !sameSet(got, want) {
		t.Fatalf("after a restart: temp files %q, want the fresh ones %q kept", got, want)
	}
	if _, err := os.Stat(filepath.Join(tmp, "planted-other")); err != nil {
		t.Fatalf("a file that is not an upload temp file was touched: %v", err)
	}
	ageParts(t, tmp, 2*time.Hour)
	srv = s.start(t, serverOptions{})
	logs := srv.Output.String()
	srv.Shutdown(t)
	if got := listParts(t, tmp); len(got) > 0 {
		t.Fatalf("after aging them two hours and restarting: temp files %q, want none", got)
	}
	if !strings.Contains(logs, "abandoned upload") {
		t.Errorf("no log line for the removed temp files:\n%s", logs)
	}
	s.mustVerify(t)
	r.pass(3,
		"fresh tmp/*.part kept (an upload may be running); those older than 1 h removed at open, each logged; other files untouched; verify exit 0")
}

// listParts returns the names of the upload temp files in dir.
func listParts(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.part"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// ageParts sets the mtime of every upload temp file in dir to age ago and
// returns how many there were.
func ageParts(t testing.TB, dir string, age time.Duration) int {
	t.Helper()
	old := time.Now().Add(-age)
	parts := listParts(t, dir)
	for _, name := range parts {
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return len(parts)
}
