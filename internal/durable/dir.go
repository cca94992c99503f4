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
