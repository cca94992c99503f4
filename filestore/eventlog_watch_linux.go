//go:build linux

package filestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"

	"golang.org/x/sys/unix"
)

// dirWatch learns from the kernel when a name in the log's directory is
// created, removed or renamed: an inotify watch on the directory, read
// without blocking. The kernel queues the event before the call that
// causes it returns, so a change another process made before this one
// took the writer lock is in the queue when it looks. It is used by the
// holder of the writer lock only.
type dirWatch struct {
	fd      int // the inotify instance, non-blocking
	cleanup runtime.Cleanup
	names   []string // the names that matter
	broken  bool     // events were lost or the watch is gone: report a change always
	buf     [4096]byte
}

// dirWatchMask is every change of what a name in the directory refers to,
// and the loss of the watch itself. Writes are left out: this process's
// own writes would fill the queue.
const dirWatchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// localFileSystems are the file systems on which every change is made by
// this kernel, so inotify sees them all. On others (NFS, SMB, FUSE...)
// another machine may change a file unseen: no watch is made there.
var localFileSystems = []uint32{
	unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.TMPFS_MAGIC,
	unix.F2FS_SUPER_MAGIC, unix.OVERLAYFS_SUPER_MAGIC, 0x2fc12fc1, // ZFS
}

// watchDir starts watching names in dir. It fails where the kernel
// refuses and on file systems not known to be local; the caller then
// stats the files instead.
func watchDir(dir string, names []string) (*dirWatch, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	if !slices.Contains(localFileSystems, uint32(st.Type)) {
		return nil, fmt.Errorf("watch %s: file system type %#x is not known to be local", dir, st.Type)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	w := &dirWatch{fd: fd, names: names}
	w.cleanup = runtime.AddCleanup(w, func(fd int) { unix.Close(fd) }, fd)
	if _, err := unix.InotifyAddWatch(fd, dir, dirWatchMask); err != nil {
		w.close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	return w, nil
}

// changed drains the queued events and reports whether any may concern
// one of the names: an event on it, lost events, or a lost watch (after
// which it always reports true). In doubt it reports true.
func (w *dirWatch) changed() bool {
	changed := false
	for !w.broken {
		n, err := unix.Read(w.fd, w.buf[:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return changed
		case err != nil || n <= 0:
			w.broken = true
		default:
			changed = w.parse(w.buf[:n]) || changed
		}
	}
	return true
}

// parse reads a buffer of inotify events and reports whether any names
// one of the watched names; it marks the watch broken on lost events or a
// lost watch.
func (w *dirWatch) parse(b []byte) bool {
	changed := false
	for len(b) >= unix.SizeofInotifyEvent {
		mask := binary.NativeEndian.Uint32(b[4:8])
		size := int(binary.NativeEndian.Uint32(b[12:16]))
		if unix.SizeofInotifyEvent+size > len(b) {
			w.broken = true
			return true
		}
		name := b[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+size]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		if mask&(unix.IN_Q_OVERFLOW|unix.IN_IGNORED|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_UNMOUNT) != 0 {
			w.broken = true
		}
		if slices.Contains(w.names, string(name)) {
			changed = true
		}
		b = b[unix.SizeofInotifyEvent+size:]
	}
	return changed || w.broken
}

// close stops the watch.
func (w *dirWatch) close() error {
	w.cleanup.Stop()
	w.broken = true
	if err := unix.Close(w.fd); err != nil {
		return fmt.Errorf("close directory watch: %w", err)
	}
	return nil
}
