//go:build !linux

package filestore

import (
	"context"
	"errors"
	"io/fs"
)

// keptLock is not used where there is no directory watch: the writer
// opens the lock file for every group commit (lockFile).
type keptLock struct{}

func openKeptLock(string, fs.FileMode) (*keptLock, error) {
	return nil, errors.New("kept lock: not supported on this system")
}

func (*keptLock) lock(context.Context, string) (func(), error) {
	return nil, errors.New("kept lock: not supported on this system")
}

func (*keptLock) close() error { return nil }
