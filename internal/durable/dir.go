package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MkdirAll makes dir, and any missing parents, with mode (as os.MkdirAll
// does, so the umask applies), and fsyncs dir's parent, so that the new
// entry survives a power loss. A directory that exists already is left as
// it is and nothing is synced; a missing one made by another process in
// the meantime counts as made.
func MkdirAll(dir string, mode fs.FileMode) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("make directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("make directory: %w", err)
	}
	if err := SyncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("after making %s: %w", dir, err)
	}
	return nil
}

// MakeDir makes dir with exactly mode (chmod'd, so the umask does not
// apply) and fsyncs its parent, so that the new entry survives a power
// loss; the parent must exist. A directory that exists already is left as
// it is; one made by another process in the meantime counts as made; a
// file of that name is an error.
func MakeDir(dir string, mode fs.FileMode) error { return makeDir(dir, mode, false) }

// MakeDirAll is MakeDir that first makes dir's missing parents, as
// os.MkdirAll does (the umask applies to them).
func MakeDirAll(dir string, mode fs.FileMode) error { return makeDir(dir, mode, true) }

func makeDir(dir string, mode fs.FileMode, parents bool) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat directory: %w", err)
	}
	if parents {
		if err := os.MkdirAll(filepath.Dir(dir), mode); err != nil {
			return fmt.Errorf("make parents of %s: %w", dir, err)
		}
	}
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("make directory: %w", err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("set mode of directory: %w", err)
	}
	if err := SyncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("after making %s: %w", dir, err)
	}
	return nil
}
