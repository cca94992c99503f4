//go:build linux

package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// keptLock is the log's lock file held open between group commits, so
// that taking the writer lock is one flock(2) call and releasing it
// another. Its descriptor is its own open file description, so it
// excludes other *EventLog values of this process as it does other
// processes. It is used by the holder of wmu only.
type keptLock struct {
	fd      int
	cleanup runtime.Cleanup
}

// openKeptLock opens (creating with mode if missing) the lock file at path.
func openKeptLock(path string, mode fs.FileMode) (*keptLock, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	k := &keptLock{fd: fd}
	k.cleanup = runtime.AddCleanup(k, func(fd int) { unix.Close(fd) }, fd)
	return k, nil
}

// lock takes the exclusive flock, waiting as lockFile does (polling with
// a backoff from lockPollMin to lockPollMax) until it is free or ctx is
// done; the returned function releases it and keeps the file open.
func (k *keptLock) lock(ctx context.Context, path string) (unlock func(), err error) {
	delay := lockPollMin
	var timer *time.Timer
	for {
		err := unix.Flock(k.fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { unix.Flock(k.fd, unix.LOCK_UN) }, nil
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}

// close closes the lock file (releasing a lock still held).
func (k *keptLock) close() error {
	k.cleanup.Stop()
	if err := unix.Close(k.fd); err != nil {
		return fmt.Errorf("close lock file: %w", err)
	}
	return nil
}
