package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tempMarker sits between a file's name and the random suffix of its
// temporary files: "." + base + tempMarker + random.
const tempMarker = ".tmp-"

// SyncDir fsyncs the directory dir, so that entries created, renamed or
// removed in it survive a power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s to sync: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// WriteFile replaces path with data so that a reader (or a crash) sees
// either the old file or the complete new one, never a part: it writes a
// temporary file in the same directory, fsyncs it, gives it mode, renames
// it over path and fsyncs the directory. When it returns nil the new
// content is durable. On error path is unchanged and the temporary file is
// removed (unless the rename already happened: then the file is complete
// but its name may not be durable yet).
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s into place: %w", tmp, err)
	}
	if err := SyncDir(dirOf(path)); err != nil {
		return fmt.Errorf("after writing %s: %w", path, err)
	}
	return nil
}

// WriteNew creates path with data only if no file has that name, with the
// same all-or-nothing promise as WriteFile: the data is written and fsync'd
// under a temporary name, then hard-linked to path (which fails if path
// exists, like O_CREAT|O_EXCL) and the directory fsync'd. It reports
// created=false, and changes nothing, when path already existed: another
// writer won the race.
func WriteNew(path string, data []byte, mode fs.FileMode) (created bool, err error) {
	tmp, err := writeTemp(path, data, mode)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("link %s into place: %w", tmp, err)
	}
	if err := SyncDir(dirOf(path)); err != nil {
		return true, fmt.Errorf("after writing %s: %w", path, err)
	}
	return true, nil
}

// writeTemp writes data to a new temporary file beside path, fsyncs it,
// sets its mode (on the open file, so no other file can be changed by a
// rename in between) and closes it. It returns the temporary file's path;
// on error nothing is left behind.
func writeTemp(path string, data []byte, mode fs.FileMode) (tmp string, err error) {
	f, err := os.CreateTemp(dirOf(path), "."+filepath.Base(path)+tempMarker+"*")
	if err != nil {
		return "", fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp = f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return "", fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Chmod(mode.Perm()); err != nil {
		return "", fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("close %s: %w", tmp, err)
	}
	return tmp, nil
}

// IsTemp reports whether name (a base name) is a temporary file of
// WriteFile or WriteNew: "." + base + ".tmp-" + random. One left behind by
// a crash can be removed once it is old enough not to be a write in
// progress.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempMarker)
}

// IsNoSpace reports whether err means the file system or the user's quota
// is full (ENOSPC or EDQUOT).
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func dirOf(path string) string {
	if dir := filepath.Dir(path); dir != "" {
		return dir
	}
	return "."
}
