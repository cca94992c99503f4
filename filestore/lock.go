package filestore

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/gofrs/flock"
)

// The log's writer lock: an exclusive flock(2) on the file "lock" in the
// log directory. flock locks belong to an open file description, so two
// *EventLog values in one process exclude each other as two processes do,
// and closing another descriptor of the file never drops the lock (as it
// would with fcntl locks).

const (
	lockPollMin = 50 * time.Microsecond
	lockPollMax = 5 * time.Millisecond
)

// tryLockFile takes the exclusive lock on path without waiting. It returns
// ok=false (and a nil unlock) when another holder has it.
func tryLockFile(path string, mode fs.FileMode) (unlock func(), ok bool, err error) {
	fl := flock.New(path, flock.SetPermissions(mode))
	ok, err = fl.TryLock()
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() { fl.Unlock() }, true, nil
}

// lockFile takes the exclusive lock on path, waiting until it is free or
// ctx is done. flock(2) cannot be interrupted, so waiting polls with a
// backoff from 50µs to 5ms. The returned unlock releases the lock and
// closes its descriptor.
func lockFile(ctx context.Context, path string, mode fs.FileMode) (unlock func(), err error) {
	fl := flock.New(path, flock.SetPermissions(mode))
	delay := lockPollMin
	var timer *time.Timer
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			return func() { fl.Unlock() }, nil
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
