//go:build !linux

package eventlog

import "errors"

// watchLog is unavailable without inotify: the Notifier polls.
func watchLog(string) (watcher, error) {
	return nil, errors.New("watch: not supported on this system")
}
