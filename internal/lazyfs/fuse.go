package lazyfs

import (
	"context"
	"maps"
	"slices"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// fsNode serves one node of the in-memory disk to the kernel. Every
// operation takes FS.mu, so the disk changes one operation at a time.
type fsNode struct {
	fs.Inode
	lfs *FS
	n   *node
}

var (
	_ fs.NodeLookuper   = (*fsNode)(nil)
	_ fs.NodeGetattrer  = (*fsNode)(nil)
	_ fs.NodeSetattrer  = (*fsNode)(nil)
	_ fs.NodeOpener     = (*fsNode)(nil)
	_ fs.NodeCreater    = (*fsNode)(nil)
	_ fs.NodeReader     = (*fsNode)(nil)
	_ fs.NodeWriter     = (*fsNode)(nil)
	_ fs.NodeFsyncer    = (*fsNode)(nil)
	_ fs.NodeFlusher    = (*fsNode)(nil)
	_ fs.NodeReleaser   = (*fsNode)(nil)
	_ fs.NodeMkdirer    = (*fsNode)(nil)
	_ fs.NodeUnlinker   = (*fsNode)(nil)
	_ fs.NodeRmdirer    = (*fsNode)(nil)
	_ fs.NodeRenamer    = (*fsNode)(nil)
	_ fs.NodeLinker     = (*fsNode)(nil)
	_ fs.NodeReaddirer  = (*fsNode)(nil)
	_ fs.NodeStatfser   = (*fsNode)(nil)
	_ fs.NodeOpendirer  = (*fsNode)(nil)
	_ fs.NodeAllocater  = (*fsNode)(nil)
	_ fs.NodeGetxattrer = (*fsNode)(nil)
)

// lock takes the disk's lock; it fails with EIO once the power is cut.
func (x *fsNode) lock() syscall.Errno {
	x.lfs.mu.Lock()
	if x.lfs.dead {
		x.lfs.mu.Unlock()
		return syscall.EIO
	}
	return 0
}

func (x *fsNode) unlock() { x.lfs.mu.Unlock() }

// child returns the kernel inode for n, a child of x.
func (x *fsNode) child(ctx context.Context, n *node, out *fuse.EntryOut) *fs.Inode {
	fillAttr(n, &out.Attr)
	return x.NewInode(ctx, &fsNode{lfs: x.lfs, n: n}, fs.StableAttr{Mode: n.mode & syscall.S_IFMT, Ino: n.ino})
}

// newNode makes a node owned by the caller.
func (x *fsNode) newNode(ctx context.Context, mode uint32) *node {
	n := &node{ino: x.lfs.nextIno, mode: mode, mtime: time.Now()}
	x.lfs.nextIno++
	if c, ok := fuse.FromContext(ctx); ok {
		n.uid, n.gid = c.Uid, c.Gid
	}
	if n.isDir() {
		n.names, n.durableNames = make(map[string]*node), make(map[string]*node)
	}
	return n
}

func fillAttr(n *node, a *fuse.Attr) {
	a.Ino = n.ino
	a.Mode = n.mode
	a.Nlink = max(n.nlink, 1)
	a.Uid, a.Gid = n.uid, n.gid
	a.Size = uint64(len(n.data))
	if n.isDir() {
		a.Size = 4096
		a.Nlink = 2
	}
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = 4096
	a.SetTimes(nil, &n.mtime, &n.mtime)
}

func (x *fsNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return nil, e
	}
	defer x.unlock()
	c, ok := x.n.names[name]
	if !ok {
		return nil, syscall.ENOENT
	}
	return x.child(ctx, c, out), 0
}

func (x *fsNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if e := x.lock(); e != 0 {
		return e
	}
	defer x.unlock()
	fillAttr(x.n, &out.Attr)
	return 0
}

func (x *fsNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if e := x.lock(); e != 0 {
		return e
	}
	defer x.unlock()
	if size, ok := in.GetSize(); ok {
		if x.n.isDir() {
			return syscall.EISDIR
		}
		x.n.truncate(int64(size))
	}
	if mode, ok := in.GetMode(); ok {
		x.n.mode = x.n.mode&syscall.S_IFMT | mode&0o7777
	}
	if uid, ok := in.GetUID(); ok {
		x.n.uid = uid
	}
	if gid, ok := in.GetGID(); ok {
		x.n.gid = gid
	}
	if mtime, ok := in.GetMTime(); ok {
		x.n.mtime = mtime
	}
	fillAttr(x.n, &out.Attr)
	return 0
}

// Open serves every file with direct I/O: no read is answered from the
// kernel's cache, so a reboot shows only what the disk holds.
func (x *fsNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return nil, 0, e
	}
	defer x.unlock()
	if flags&syscall.O_TRUNC != 0 && len(x.n.data) > 0 {
		x.n.truncate(0)
	}
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (x *fsNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return nil, nil, 0, e
	}
	defer x.unlock()
	if c, ok := x.n.names[name]; ok {
		if flags&syscall.O_EXCL != 0 {
			return nil, nil, 0, syscall.EEXIST
		}
		if flags&syscall.O_TRUNC != 0 && len(c.data) > 0 {
			c.truncate(0)
		}
		return x.child(ctx, c, out), nil, fuse.FOPEN_DIRECT_IO, 0
	}
	n := x.newNode(ctx, syscall.S_IFREG|mode&0o7777)
	x.n.setName(name, n)
	return x.child(ctx, n, out), nil, fuse.FOPEN_DIRECT_IO, 0
}

func (x *fsNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return nil, e
	}
	defer x.unlock()
	data := x.n.data
	if off >= int64(len(data)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(slices.Clone(data[off:min(off+int64(len(dest)), int64(len(data)))])), 0
}

func (x *fsNode) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return 0, e
	}
	defer x.unlock()
	x.n.write(data, off)
	return uint32(len(data)), 0
}

func (x *fsNode) Allocate(ctx context.Context, fh fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	return syscall.EOPNOTSUPP
}

// Fsync makes the file's data, or the directory's names, durable (see
// the package doc); it counts, and may be where the power is cut.
func (x *fsNode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	if e := x.lock(); e != 0 {
		return e
	}
	defer x.unlock()
	f := x.lfs
	f.syncs++
	if f.cutAt != 0 && f.syncs == f.cutAt {
		if f.cutAfter {
			x.n.sync()
		}
		f.dieLocked()
		return syscall.EIO
	}
	x.n.sync()
	return 0
}

func (x *fsNode) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno   { return 0 }
func (x *fsNode) Release(ctx context.Context, fh fs.FileHandle) syscall.Errno { return 0 }
func (x *fsNode) Opendir(ctx context.Context) syscall.Errno                   { return 0 }

func (x *fsNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}

func (x *fsNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return nil, e
	}
	defer x.unlock()
	if _, ok := x.n.names[name]; ok {
		return nil, syscall.EEXIST
	}
	n := x.newNode(ctx, syscall.S_IFDIR|mode&0o7777)
	x.n.setName(name, n)
	return x.child(ctx, n, out), 0
}

func (x *fsNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if e := x.lock(); e != 0 {
		return e
	}
	defer x.unlock()
	c, ok := x.n.names[name]
	switch {
	case !ok:
		return syscall.ENOENT
	case c.isDir():
		return syscall.EISDIR
	}
	x.n.setName(name, nil)
	return 0
}

func (x *fsNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if e := x.lock(); e != 0 {
		return e
	}
	defer x.unlock()
	c, ok := x.n.names[name]
	switch {
	case !ok:
		return syscall.ENOENT
	case !c.isDir():
		return syscall.ENOTDIR
	case len(c.names) > 0:
		return syscall.ENOTEMPTY
	}
	x.n.setName(name, nil)
	return 0
}

const renameNoReplace = 1 // RENAME_NOREPLACE

func (x *fsNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if e := x.lock(); e != 0 {
		return e
	}
	defer x.unlock()
	to, ok := newParent.(*fsNode)
	if !ok || flags&^renameNoReplace != 0 {
		return syscall.EINVAL
	}
	c, ok := x.n.names[name]
	if !ok {
		return syscall.ENOENT
	}
	if old, ok := to.n.names[newName]; ok {
		switch {
		case old == c:
			return 0
		case flags&renameNoReplace != 0:
			return syscall.EEXIST
		case c.isDir() && !old.isDir():
			return syscall.ENOTDIR
		case !c.isDir() && old.isDir():
			return syscall.EISDIR
		case old.isDir() && len(old.names) > 0:
			return syscall.ENOTEMPTY
		}
	}
	x.n.setName(name, nil)
	to.n.setName(newName, c)
	return 0
}

func (x *fsNode) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return nil, e
	}
	defer x.unlock()
	t, ok := target.(*fsNode)
	switch {
	case !ok:
		return nil, syscall.EXDEV
	case t.n.isDir():
		return nil, syscall.EPERM
	}
	if _, ok := x.n.names[name]; ok {
		return nil, syscall.EEXIST
	}
	x.n.setName(name, t.n)
	return x.child(ctx, t.n, out), 0
}

func (x *fsNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	if e := x.lock(); e != 0 {
		return nil, e
	}
	defer x.unlock()
	var list []fuse.DirEntry
	for _, name := range slices.Sorted(maps.Keys(x.n.names)) {
		c := x.n.names[name]
		list = append(list, fuse.DirEntry{Name: name, Mode: c.mode & syscall.S_IFMT, Ino: c.ino})
	}
	return fs.NewListDirStream(list), 0
}

func (x *fsNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	if e := x.lock(); e != 0 {
		return e
	}
	defer x.unlock()
	out.Bsize, out.Frsize = 4096, 4096
	out.Blocks, out.Bfree, out.Bavail = 1<<24, 1<<23, 1<<23
	out.Files, out.Ffree = 1<<20, 1<<19
	out.NameLen = 255
	return 0
}
