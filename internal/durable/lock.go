package durable

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/gofrs/flock"
)

// The backoff of a wait for a busy lock.
const (
	lockPollMin = 50 * time.Microsecond
	lockPollMax = 5 * time.Millisecond
)

// TryLock takes the exclusive flock on path (creating the file with mode
// if it is missing) without waiting. It returns ok=false and a nil unlock
// when another holder has it.
func TryLock(path string, mode fs.FileMode) (unlock func(), ok bool, err error) {
	fl := flock.New(path, flock.SetPermissions(mode.Perm()))
	ok, err = fl.TryLock()
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, false, nil
	}
	return func() { fl.Unlock() }, true, nil
}

// Lock takes the exclusive flock on path (creating the file with mode if
// it is missing), waiting until it is free or ctx is done. The returned
// unlock releases the lock and closes its descriptor.
func Lock(ctx context.Context, path string, mode fs.FileMode) (unlock func(), err error) {
	fl := flock.New(path, flock.SetPermissions(mode.Perm()))
	err = wait(ctx, path, fl.TryLock)
	if err != nil {
		return nil, err
	}
	return func() { fl.Unlock() }, nil
}

// wait calls try until it reports the lock taken, fails, or ctx is done,
// sleeping between tries with a backoff from lockPollMin to lockPollMax.
func wait(ctx context.Context, path string, try func() (bool, error)) error {
	delay := lockPollMin
	var timer *time.Timer
	for {
		ok, err := try()
		if err != nil {
			return fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}
