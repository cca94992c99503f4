package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for i, tt := range []struct {
		content string
		mode    fs.FileMode
	}{{"first", 0o640}, {"second, longer", 0o600}, {"", 0o644}} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if err := WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			assertFile(t, path, tt.content, tt.mode)
			assertEntries(t, dir, 1)
		})
	}
}

func TestWriteFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "f")
	if err := WriteFile(path, []byte("x"), 0o600); err == nil {
		t.Fatal("got nil error, want one for a missing directory")
	}
}

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	created, err := WriteNew(path, []byte("first"), 0o600)
	if err != nil || !created {
		t.Fatalf("first WriteNew: created=%v err=%v, want true, nil", created, err)
	}
	created, err = WriteNew(path, []byte("second"), 0o600)
	if err != nil || created {
		t.Fatalf("second WriteNew: created=%v err=%v, want false, nil", created, err)
	}
	assertFile(t, path, "first", 0o600)
	assertEntries(t, dir, 1)
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("got nil error, want one for a missing directory")
	}
}

func TestIsTemp(t *testing.T) {
	dir := t.TempDir()
	tmp, err := writeTemp(filepath.Join(dir, "format"), []byte("x"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{filepath.Base(tmp), true},
		{"format", false},
		{".token.key", false},
		{"ab.tmp-1", false},
	} {
		if got := IsTemp(tt.name); got != tt.want {
			t.Errorf("IsTemp(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestIsNoSpace(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{syscall.ENOSPC, true},
		{syscall.EDQUOT, true},
		{&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, true},
		{fmt.Errorf("append: %w", &os.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}), true},
		{syscall.EIO, false},
		{errors.New("no space"), false},
		{nil, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := IsNoSpace(tt.err); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func assertFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != content {
		t.Fatalf("got %q, want %q", got, content)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Fatalf("got mode %o, want %o", fi.Mode().Perm(), mode)
	}
}

func assertEntries(t *testing.T, dir string, want int) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != want {
		t.Fatalf("got %d entries, want %d (no temporary file left)", len(ents), want)
	}
}
