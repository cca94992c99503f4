package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    fs.FileMode
		wantErr bool
	}{
		{"rw-r-----", 0o640, false},
		{"rwxr-x---", 0o750, false},
		{"---------", 0, false},
		{"rwxrwxrwx", 0o777, false},
		{"r--------", 0o400, false},
		{"--------x", 0o001, false},
		{"", 0, true},
		{"rw-r----", 0, true},
		{"rw-r------", 0, true},
		{"wr-r-----", 0, true},
		{"rw-r--r-X", 0, true},
		{"0640xxxxx", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got mode %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %o, want %o", got, tt.want)
			}
			if back := FormatMode(got); back != tt.in {
				t.Fatalf("FormatMode: got %q, want %q", back, tt.in)
			}
		})
	}
}

func TestFormatModeRoundTrip(t *testing.T) {
	for m := fs.FileMode(0); m <= 0o777; m++ {
		s := FormatMode(m | fs.ModeDir)
		got, err := ParseMode(s)
		if err != nil {
			t.Fatalf("%o: %v", m, err)
		}
		if got != m {
			t.Fatalf("got %o, want %o (via %q)", got, m, s)
		}
	}
}

func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"rw-r-----", "rwxrwxrwx", "---------", "rw-", "rw-r----\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			return
		}
		if got := FormatMode(m); got != s {
			t.Fatalf("got %q, want %q", got, s)
		}
	})
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for i, content := range []string{"first", "second, longer", ""} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if err := writeFileAtomic(path, []byte(content), 0o640); err != nil {
				t.Fatal(err)
			}
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
			if fi.Mode().Perm() != 0o640 {
				t.Fatalf("got mode %o, want %o", fi.Mode().Perm(), 0o640)
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(ents) != 1 {
				t.Fatalf("got %d entries, want 1 (no temporary file left)", len(ents))
			}
		})
	}
}

func TestWriteFileAtomicMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "f")
	if err := writeFileAtomic(path, []byte("x"), 0o600); err == nil {
		t.Fatal("got nil error, want one for a missing directory")
	}
}

func TestSyncDir(t *testing.T) {
	if err := syncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := syncDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("got nil error, want one for a missing directory")
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
			if got := isNoSpace(tt.err); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
