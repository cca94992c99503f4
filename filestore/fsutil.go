package filestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// This file holds the small file-system helpers shared by the event log and
// the blob store. Nothing here keeps state.

// syncDir fsyncs the directory dir, so that entries created, renamed or
// removed in it survive a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory to sync: %w", err)
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("close directory %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a reader (or a crash) sees
// either the old file or the complete new one, never a part: it writes a
// temporary file in the same directory, fsyncs and closes it, sets mode,
// renames it over path and fsyncs the directory. When it returns nil the new
// content is durable. On error the temporary file is removed and path is
// unchanged.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Chmod(tmp, mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s into place: %w", tmp, err)
	}
	if err = syncDir(dir); err != nil {
		// The rename happened; the file is complete but its name may not
		// yet be durable. Do not remove anything.
		return fmt.Errorf("after writing %s: %w", path, err)
	}
	return nil
}

// isNoSpace reports whether err means the file system or the user's quota
// is full (ENOSPC or EDQUOT): the HTTP layer answers 507 for it.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// ParseMode parses a permission string of exactly nine characters in the
// form ls prints, such as "rw-r-----" (0640) or "rwxr-x---" (0750). Each
// position holds its letter (r, w or x, in that order per owner, group and
// other) or '-'. Anything else is an error naming the string.
func ParseMode(s string) (fs.FileMode, error) {
	const letters = "rwxrwxrwx"
	if len(s) != len(letters) {
		return 0, fmt.Errorf("parse mode %q: want 9 characters like \"rw-r-----\"", s)
	}
	var m fs.FileMode
	for i := 0; i < len(letters); i++ {
		bit := fs.FileMode(1) << (len(letters) - 1 - i)
		switch s[i] {
		case letters[i]:
			m |= bit
		case '-':
		default:
			return 0, fmt.Errorf("parse mode %q: character %d is %q, want %q or '-'", s, i+1, s[i], letters[i])
		}
	}
	return m, nil
}

// FormatMode returns the nine-character form of m's permission bits, such
// as "rw-r-----"; ParseMode(FormatMode(m)) == m.Perm().
func FormatMode(m fs.FileMode) string {
	const letters = "rwxrwxrwx"
	var b strings.Builder
	for i := 0; i < len(letters); i++ {
		if m&(fs.FileMode(1)<<(len(letters)-1-i)) != 0 {
			b.WriteByte(letters[i])
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}
