package lazyfs

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FS is a mounted lazy file system. Its methods are safe for concurrent
// use, including with the processes using the mount.
type FS struct {
	dir string // the mount point

	mu       sync.Mutex
	root     *node
	nextIno  uint64
	server   *fuse.Server
	dead     bool          // power is cut: every operation fails with EIO
	deadCh   chan struct{} // closed when power is cut
	syncs    uint64        // fsyncs that reached the disk since the last Reboot (or Mount)
	cutAt    uint64        // the fsync that cuts power (0: none)
	cutAfter bool          // cut after that fsync took effect, not before
}

// Mount mounts an empty lazy file system on dir, an existing directory.
// It needs root (it calls mount(2) itself); the error says why it failed.
func Mount(dir string) (*FS, error) {
	now := time.Now()
	f := &FS{
		dir:     dir,
		nextIno: 2,
		deadCh:  make(chan struct{}),
		root: &node{ino: 1, mode: syscall.S_IFDIR | 0o755, mtime: now, nlink: 1,
			names: make(map[string]*node), durableNames: make(map[string]*node)},
	}
	if err := f.mount(); err != nil {
		return nil, err
	}
	return f, nil
}

// mount serves the tree on f.dir.
func (f *FS) mount() error {
	second := time.Second
	opts := &fs.Options{
		EntryTimeout: &second,
		AttrTimeout:  &second,
		MountOptions: fuse.MountOptions{
			FsName:            "lazyfs",
			Name:              "lazyfs",
			DirectMountStrict: true, // mount(2) as root; no fusermount
			MaxBackground:     64,
		},
	}
	server, err := fs.Mount(f.dir, &fsNode{lfs: f, n: f.root}, opts)
	if err != nil {
		return fmt.Errorf("mount lazyfs on %s: %w", f.dir, err)
	}
	f.mu.Lock()
	f.server = server
	f.mu.Unlock()
	return nil
}

// Dir returns the mount point.
func (f *FS) Dir() string { return f.dir }

// Cut cuts the power now: every later operation fails with EIO. The
// caller then kills the processes that use the mount and calls Reboot.
func (f *FS) Cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dieLocked()
}

func (f *FS) dieLocked() {
	if !f.dead {
		f.dead = true
		close(f.deadCh)
	}
}

// Dead returns a channel closed once the power is cut (by Cut or by an
// armed fsync).
func (f *FS) Dead() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deadCh
}

// CutAtSync arms a cut at the n-th fsync (of a file or a directory) from
// now: before it takes effect, or, if after, once it took effect; either
// way that fsync fails with EIO, as the machine died before it could
// answer. n = 0 disarms.
func (f *FS) CutAtSync(n uint64, after bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutAt, f.cutAfter = 0, after
	if n > 0 {
		f.cutAt = f.syncs + n
	}
}

// Syncs returns how many fsyncs reached the disk since the last Reboot or
// Mount.
func (f *FS) Syncs() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

// SyncAll makes everything durable, as a machine left idle long enough to
// write its cache back (a test's setup before the first cut).
func (f *FS) SyncAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	syncAll(f.root)
}

// Reboot plays the power coming back: it unmounts the file system (no
// process may use it any more: kill them first), applies loss to what was
// not synced when the power was cut (it cuts it now if that has not
// happened yet), and mounts what survived on the same directory. The
// fsync count and any armed cut start again.
func (f *FS) Reboot(loss Loss) error {
	f.Cut()
	if err := f.unmount(); err != nil {
		return err
	}
	f.mu.Lock()
	lose(f.root, loss)
	f.dead, f.deadCh = false, make(chan struct{})
	f.syncs, f.cutAt, f.cutAfter = 0, 0, false
	f.mu.Unlock()
	return f.mount()
}

// Unmount unmounts the file system; the in-memory disk is dropped with f.
func (f *FS) Unmount() error {
	f.Cut()
	return f.unmount()
}

func (f *FS) unmount() error {
	f.mu.Lock()
	server := f.server
	f.server = nil
	f.mu.Unlock()
	if server == nil {
		return nil
	}
	var err error
	for try := 0; try < 100; try++ { // a dying process may hold the mount a moment
		if err = server.Unmount(); err == nil {
			server.Wait()
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.mu.Lock()
	f.server = server
	f.mu.Unlock()
	return fmt.Errorf("unmount lazyfs on %s: %w", f.dir, err)
}

// Stats counts what is on the disk now.
type Stats struct {
	Files, Dirs int
	Unsynced    int // files and directories with changes not yet durable
}

// Stats walks the current tree.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s Stats
	seen := make(map[*node]bool)
	var walk func(n *node)
	walk = func(n *node) {
		if seen[n] {
			return
		}
		seen[n] = true
		if n.isDir() {
			s.Dirs++
			if len(n.namePending) > 0 {
				s.Unsynced++
			}
			for _, c := range n.names {
				walk(c)
			}
			return
		}
		s.Files++
		if len(n.pending) > 0 {
			s.Unsynced++
		}
	}
	walk(f.root)
	return s
}
