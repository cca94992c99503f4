package auth

import (
	"apie/internal/durable"
	"context"
	"fmt"
	"io/fs"
)

// defaultMode is the passwd file's mode when Update is given 0.
const defaultMode fs.FileMode = 0o640

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
	unlock, err := durable.Lock(ctx, path+".lock", mode)
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
	if err := durable.WriteFile(path, p.marshal(), mode); err != nil {
		return fmt.Errorf("update passwd: %w: %w", ErrPasswdFile, err)
	}
	p.modified = false
	return nil
}
