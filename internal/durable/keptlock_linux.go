//go:build linux

package durable

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"

	"golang.org/x/sys/unix"
)

// KeptLock is a lock file held open between locks, so that taking the
// lock is one flock(2) call and releasing it another (Lock's open, fcntls,
// flock and close each time are several). Its descriptor is its own open
// file description, so it excludes other holders in this process as it
// does other processes. A KeptLock is for one goroutine at a time.
type KeptLock struct {
	path    string
	fd      int
	cleanup runtime.Cleanup
}

// OpenKeptLock opens (creating with mode if missing) the lock file at path.
func OpenKeptLock(path string, mode fs.FileMode) (*KeptLock, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	k := &KeptLock{path: path, fd: fd}
	k.cleanup = runtime.AddCleanup(k, func(fd int) { unix.Close(fd) }, fd)
	return k, nil
}

// Lock takes the exclusive flock, waiting as Lock does until it is free or
// ctx is done; the returned function releases it and keeps the file open.
func (k *KeptLock) Lock(ctx context.Context) (unlock func(), err error) {
	err = wait(ctx, k.path, func() (bool, error) {
		for {
			err := unix.Flock(k.fd, unix.LOCK_EX|unix.LOCK_NB)
			switch {
			case err == nil:
				return true, nil
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EWOULDBLOCK):
				return false, nil
			default:
				return false, err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return func() { unix.Flock(k.fd, unix.LOCK_UN) }, nil
}

// Close closes the lock file, releasing a lock still held.
func (k *KeptLock) Close() error {
	k.cleanup.Stop()
	if err := unix.Close(k.fd); err != nil {
		return fmt.Errorf("close lock file %s: %w", k.path, err)
	}
	return nil
}
