package eventlog

import (
	"apie/internal/durable"
	"context"
)

// lockForGroupLocked takes the writer's flock for a group commit. A
// writer that watches its directory (see refreshFilesLocked) keeps the
// lock file open between groups and flocks that descriptor: two calls a
// group instead of durable.Lock's open, fcntls, flocks and close. It opens the
// file again by its name whenever the watch reports that name created,
// removed or renamed (or the watch is broken), so it never locks a file
// that others no longer lock. Without a watch it calls durable.Lock. The
// caller holds wmu.
func (l *EventLog) lockForGroupLocked(ctx context.Context) (unlock func(), err error) {
	path := l.path(logLockName)
	if l.w.watch == nil {
		return durable.Lock(ctx, path, l.fileMode)
	}
	if l.w.watch.changed(watchLock) && l.w.lock != nil {
		l.w.lock.Close()
		l.w.lock = nil
	}
	if l.w.lock == nil {
		k, err := durable.OpenKeptLock(path, l.fileMode)
		if err != nil {
			return nil, err
		}
		l.w.lock = k
	}
	return l.w.lock.Lock(ctx)
}
