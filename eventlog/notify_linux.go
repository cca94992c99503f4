//go:build linux

package eventlog

import (
	"fmt"
	"os"

	"apie/internal/inotify"

	"golang.org/x/sys/unix"
)

// notifyMask is what a follower cares about in the log directory: writes
// to seq.idx (a commit) and names replaced.
const notifyMask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR

// logWatch is an inotify instance on the log directory, read through the
// runtime's poller: a waiting reader holds no thread and costs no CPU.
type logWatch struct {
	f   *os.File
	buf [8192]byte
}

// watchLog watches dir for commits, on local file systems only (see
// localFileSystems): on others another machine may append unseen.
func watchLog(dir string) (watcher, error) {
	fd, err := inotifyLocalDir(dir, notifyMask)
	if err != nil {
		return nil, err
	}
	return &logWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir)}, nil
}

// wait returns when seq.idx was written or a name in the directory was
// replaced; errWatchLost when events were dropped or the watch is gone.
func (w *logWatch) wait() error {
	for {
		n, err := w.f.Read(w.buf[:])
		if err != nil {
			return fmt.Errorf("read watch: %w", err)
		}
		hit, lost := false, false
		complete := inotify.Each(w.buf[:n], func(_ int32, mask uint32, name []byte) {
			switch {
			case mask&inotify.Lost != 0:
				lost = true
			case mask&unix.IN_MODIFY == 0:
				hit = true // a name created or moved in: the files may be new
			case string(name) == seqIdxName:
				hit = true
			}
		})
		if lost || !complete {
			return errWatchLost
		}
		if hit {
			return nil
		}
	}
}

func (w *logWatch) close() error { return w.f.Close() }
