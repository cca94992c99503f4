package durable

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestMakeDir(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string) string // returns the dir to make
		all     bool
		wantErr bool
		mode    fs.FileMode // want, if no error
	}{
		{"new, exact mode despite the umask", func(t *testing.T, root string) string { return filepath.Join(root, "d") }, false, false, 0o750},
		{"missing parent refused", func(t *testing.T, root string) string { return filepath.Join(root, "p", "d") }, false, true, 0},
		{"missing parent made by MakeDirAll", func(t *testing.T, root string) string { return filepath.Join(root, "p", "q", "d") }, true, false, 0o750},
		{"existing dir left as it is", func(t *testing.T, root string) string {
			d := filepath.Join(root, "d")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			return d
		}, false, false, 0o700},
		{"a file of that name", func(t *testing.T, root string) string {
			f := filepath.Join(root, "f")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}, true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			mk := MakeDir
			if tt.all {
				mk = MakeDirAll
			}
			err := mk(dir, 0o750)
			if tt.wantErr {
				if err == nil {
					t.Fatal("got no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.IsDir() || fi.Mode().Perm() != tt.mode {
				t.Fatalf("got %v, want a directory of mode %v", fi.Mode(), tt.mode)
			}
		})
	}
}
