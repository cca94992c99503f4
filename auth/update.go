package auth

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// defaultMode is the passwd file's mode when Update is given 0.
const defaultMode fs.FileMode = 0o640

// lockRetry is how often Update retries a busy lock while ctx allows.
const lockRetry = 10 * time.Millisecond

// Update changes the passwd file at path atomically. It takes an exclusive
// flock on "<path>.lock" (waiting while ctx allows), re-reads the file (a
// missing file reads as empty), and calls fn with it. If fn returns an
// error, nothing is written and that error is returned as is. Otherwise, if
// fn changed anything, the new contents go to a temporary file in the same
// directory, which is fsync'd, given mode (0 means 0640), and renamed over
// path; then the directory is fsync'd. When Update returns nil the change is
// durable; readers see either the old file or the new one, never a mix.
func Update(ctx context.Context, path string, mode fs.FileMode, fn func(p *Passwd) error) error {
	if mode == 0 {
		mode = defaultMode
	}
	unlock, err := lockFile(ctx, path+".lock", mode)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPasswdFile, err)
	}
	defer unlock()

	p, err := ReadPasswd(path)
	if err != nil {
		return fmt.Errorf("update passwd: %w: %w", ErrPasswdFile, err)
	}
	if err := fn(p); err != nil {
		return err
	}
	if !p.modified {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update passwd: %w", err)
	}
	if err := writeAtomic(path, p.marshal(), mode); err != nil {
		return fmt.Errorf("update passwd: %w: %w", ErrPasswdFile, err)
	}
	p.modified = false
	return nil
}

// lockFile takes an exclusive flock on path (created with mode perm if
// missing, so that whoever may write the passwd file may also lock it) and
// returns the function that releases it.
func lockFile(ctx context.Context, path string, perm fs.FileMode) (unlock func(), err error) {
	l := flock.New(path, flock.SetPermissions(perm))
	ok, err := l.TryLockContext(ctx, lockRetry)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		// TryLockContext reports a cancelled wait as (false, ctx.Err());
		// this guards against a (false, nil) all the same.
		return nil, fmt.Errorf("lock %s: not acquired", path)
	}
	return func() { _ = l.Unlock() }, nil
}

// writeAtomic replaces path with data: temp file in the same directory,
// write, fsync, chmod, close, rename, fsync the directory. On failure the
// temp file is removed and path is untouched.
func writeAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp.Name(), err)
	}
	if err = syncDir(dir); err != nil {
		return err
	}
	return nil
}

// syncDir fsyncs a directory so that a rename or create in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
