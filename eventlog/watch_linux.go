//go:build linux

package eventlog

import (
	"apie/internal/inotify"
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
	names   []string // the names that matter; bit i of a mask stands for names[i]
	pending uint32   // names changed and not yet asked about
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
	fd, err := inotifyLocalDir(dir, dirWatchMask)
	if err != nil {
		return nil, err
	}
	w := &dirWatch{fd: fd, names: names}
	w.cleanup = runtime.AddCleanup(w, func(fd int) { unix.Close(fd) }, fd)
	return w, nil
}

// inotifyLocalDir returns a new non-blocking inotify descriptor watching
// dir for the events in mask. It fails where the kernel refuses and when
// dir is on a file system not known to be local (see localFileSystems).
func inotifyLocalDir(dir string, mask uint32) (int, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1, fmt.Errorf("watch %s: %w", dir, err)
	}
	if !slices.Contains(localFileSystems, uint32(st.Type)) {
		return -1, fmt.Errorf("watch %s: file system type %#x is not known to be local", dir, st.Type)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("watch %s: %w", dir, err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("watch %s: %w", dir, err)
	}
	return fd, nil
}

// changed drains the queued events and reports whether any since the
// last call asking about them may concern one of the names in mask: an
// event on it, lost events, or a lost watch (after which it always
// reports true). In doubt it reports true.
func (w *dirWatch) changed(mask uint32) bool {
	for !w.broken {
		n, err := unix.Read(w.fd, w.buf[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil || n <= 0 {
			w.broken = true
			break
		}
		w.pending |= w.parse(w.buf[:n])
	}
	if w.broken {
		return true
	}
	hit := w.pending&mask != 0
	w.pending &^= mask
	return hit
}

// parse reads a buffer of inotify events and returns the mask of the
// watched names they concern; it marks the watch broken on lost events or
// a lost watch.
func (w *dirWatch) parse(b []byte) uint32 {
	var hit uint32
	complete := inotify.Each(b, func(_ int32, mask uint32, name []byte) {
		if mask&inotify.Lost != 0 {
			w.broken = true
		}
		if i := slices.Index(w.names, string(name)); i >= 0 {
			hit |= 1 << i
		}
	})
	if !complete {
		w.broken = true
	}
	return hit
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
