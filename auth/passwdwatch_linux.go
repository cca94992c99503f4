//go:build linux

package auth

import (
	"apie/internal/inotify"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"
)

// passwdWatch learns of changes to the passwd file from the kernel, so a
// check need not stat the file: an inotify watch on the file's directory
// (and, if the path is a symlink, on its target's), read without blocking.
// The kernel queues an event before the write, rename or unlink that
// causes it returns, so a change another process has finished is seen by
// the next check. It is not safe for concurrent use (the Checker's mutex
// guards it).
type passwdWatch struct {
	fd      int // the inotify instance, non-blocking; read directly (no poller)
	cleanup runtime.Cleanup
	names   map[int32][]string // watch descriptor -> base names watched in that directory
	broken  bool               // events were lost or a watch is gone: report a change always
	buf     [4096]byte
}

// watchMask is every event that can change what a path in the watched
// directory names or holds, and the loss of the watch itself.
const watchMask = unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE |
	unix.IN_DELETE_SELF | unix.IN_MODIFY | unix.IN_MOVE_SELF | unix.IN_MOVED_FROM | unix.IN_MOVED_TO

// watchPasswd starts watching path. It fails where the kernel refuses (no
// inotify instances left, say); the caller then stats on every check.
func watchPasswd(path string) (*passwdWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch passwd: %w", err)
	}
	w := &passwdWatch{fd: fd, names: make(map[int32][]string)}
	w.cleanup = runtime.AddCleanup(w, func(fd int) { unix.Close(fd) }, fd)
	paths := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		paths = append(paths, real)
	}
	for _, p := range paths {
		wd, err := unix.InotifyAddWatch(fd, filepath.Dir(p), watchMask)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("watch passwd directory %s: %w", filepath.Dir(p), err)
		}
		w.names[int32(wd)] = append(w.names[int32(wd)], filepath.Base(p))
	}
	return w, nil
}

// changed drains the queued events and reports whether any may concern the
// passwd file: an event on its name, lost events, or a lost watch (after
// which it always reports true). In doubt it reports true.
func (w *passwdWatch) changed() bool {
	if w.broken {
		return true
	}
	changed := false
	for {
		n, rerr := unix.Read(w.fd, w.buf[:])
		switch {
		case errors.Is(rerr, unix.EINTR):
			continue
		case errors.Is(rerr, unix.EAGAIN):
			return changed
		case rerr != nil || n <= 0:
			w.broken = true
			return true
		}
		if w.parse(w.buf[:n]) {
			changed = true
		}
		if w.broken {
			return true
		}
	}
}

// parse reads a buffer of inotify events and reports whether any names a
// watched file; it marks the watch broken on lost events or a lost watch.
func (w *passwdWatch) parse(b []byte) bool {
	changed := false
	complete := inotify.Each(b, func(wd int32, mask uint32, name []byte) {
		if mask&inotify.Lost != 0 {
			w.broken = true
		}
		if bases, ok := w.names[wd]; !ok || slices.Contains(bases, string(name)) {
			changed = true
		}
	})
	if !complete {
		w.broken = true
	}
	return changed || w.broken
}

// close stops the watch.
func (w *passwdWatch) close() error {
	w.cleanup.Stop()
	w.broken = true
	if err := unix.Close(w.fd); err != nil {
		return fmt.Errorf("close passwd watch: %w", err)
	}
	return nil
}
