package durable

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestMkdirAll(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	base := t.TempDir()
	tests := []struct {
		name     string
		dir      string
		mode     fs.FileMode
		wantMode fs.FileMode
	}{
		{"missing", filepath.Join(base, "a"), 0o750, 0o750},
		{"missing parents", filepath.Join(base, "b", "c", "d"), 0o710, 0o710},
		{"umask applies", filepath.Join(base, "e"), 0o777, 0o755},
		{"exists, left as it is", filepath.Join(base, "a"), 0o700, 0o750},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := MkdirAll(tt.dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.IsDir() || fi.Mode().Perm() != tt.wantMode {
				t.Errorf("got %v, want a directory of mode %v", fi.Mode(), tt.wantMode)
			}
		})
	}
}

func TestMkdirAllUnderFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(filepath.Join(file, "d"), 0o750); err == nil {
		t.Fatal("got nil error, want one for a directory under a file")
	}
}
