package lazyfs

import (
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"syscall"
	"time"
)

// A node is a file or a directory of the in-memory disk: its current state
// (what processes see) and its durable state (what a power loss keeps),
// with the changes made since the last fsync. Guarded by FS.mu.
type node struct {
	ino   uint64
	mode  uint32 // file type and permission bits
	uid   uint32
	gid   uint32
	mtime time.Time
	nlink uint32 // names leading to it in the current state

	// Regular files.
	data    []byte       // current
	durable []byte       // as of the last fsync
	pending []dataChange // since the last fsync, oldest first

	// Directories.
	names        map[string]*node // current
	durableNames map[string]*node // as of the last fsync
	namePending  []nameChange     // since the last fsync, oldest first
}

// A dataChange is one unsynced write (data at off) or truncate (to size).
type dataChange struct {
	truncate bool
	off      int64
	data     []byte
	size     int64
}

// A nameChange is one unsynced change of a directory: name now leads to
// to, or (to == nil) to nothing.
type nameChange struct {
	name string
	to   *node
}

func (n *node) isDir() bool { return n.mode&syscall.S_IFMT == syscall.S_IFDIR }

// write changes the current data and remembers the change.
func (n *node) write(b []byte, off int64) {
	n.data = applyWrite(n.data, b, off)
	n.pending = append(n.pending, dataChange{off: off, data: slices.Clone(b)})
	n.mtime = time.Now()
}

// truncate sets the current size and remembers the change.
func (n *node) truncate(size int64) {
	n.data = applyTruncate(n.data, size)
	n.pending = append(n.pending, dataChange{truncate: true, size: size})
	n.mtime = time.Now()
}

// setName makes name lead to to (nil: remove it) and remembers the change.
func (n *node) setName(name string, to *node) {
	if old := n.names[name]; old != nil {
		old.nlink--
	}
	if to == nil {
		delete(n.names, name)
	} else {
		n.names[name] = to
		to.nlink++
	}
	n.namePending = append(n.namePending, nameChange{name: name, to: to})
	n.mtime = time.Now()
}

// sync makes the current state durable.
func (n *node) sync() {
	if n.isDir() {
		n.durableNames = maps.Clone(n.names)
		n.namePending = nil
		return
	}
	n.durable = slices.Clone(n.data)
	n.pending = nil
}

func applyWrite(data, b []byte, off int64) []byte {
	if end := off + int64(len(b)); end > int64(len(data)) {
		data = append(data, make([]byte, end-int64(len(data)))...)
	}
	copy(data[off:], b)
	return data
}

func applyTruncate(data []byte, size int64) []byte {
	if size <= int64(len(data)) {
		return data[:size]
	}
	return append(data, make([]byte, size-int64(len(data)))...)
}

// A Loss decides which unsynced changes survive a power loss (see the
// package doc). The zero Loss is DropAll.
type Loss struct {
	// Keep returns how many of the n changes made to the file or
	// directory at path since its last fsync survive, oldest first
	// (0..n). Nil keeps none.
	Keep func(path string, n int) int
	// Tear returns how many of the n bytes of the last kept write of the
	// file at path survive (0..n). Nil keeps the write whole.
	Tear func(path string, n int) int
	// Scatter, if it returns a non-nil slice for the file at path, says
	// which of its n unsynced changes survive (true: kept, whole), in
	// any pattern: a disk that wrote back some pages of the file and not
	// others, in no order. A write that spans pages counts as one change
	// per page (4096 bytes, by file offset). Nil (or a nil answer) falls
	// back to Keep.
	Scatter func(path string, n int) []bool
}

// DropAll loses every change that was not fsync'd.
func DropAll() Loss { return Loss{} }

// KeepAll keeps every change, as if the cache had been written back just
// before the power went (renames and all).
func KeepAll() Loss { return Loss{Keep: func(_ string, n int) int { return n }} }

// Random keeps a random prefix of each file's and directory's unsynced
// changes (none in half the cases) and tears the last kept write at a
// random byte, drawing from r.
func Random(r *rand.Rand) Loss {
	return Loss{
		Keep: func(_ string, n int) int {
			if n == 0 || r.IntN(2) == 0 {
				return 0
			}
			return r.IntN(n + 1)
		},
		Tear: func(_ string, n int) int {
			if r.IntN(2) == 0 {
				return n
			}
			return r.IntN(n + 1)
		},
	}
}

// lose replaces the tree under root by what the loss keeps and makes it
// all durable. Nodes no surviving name leads to are dropped.
func lose(root *node, loss Loss) {
	keep := func(p string, n int) int {
		if n == 0 || loss.Keep == nil {
			return 0
		}
		return min(max(loss.Keep(p, n), 0), n)
	}
	seen := make(map[*node]bool)
	var walk func(n *node, p string)
	walk = func(n *node, p string) {
		if seen[n] {
			n.nlink++
			return
		}
		seen[n] = true
		n.nlink = 1
		if !n.isDir() {
			data := slices.Clone(n.durable)
			pieces := pages(n.pending)
			if pick := scatter(loss, p, len(pieces)); pick != nil {
				for i, c := range pieces {
					switch {
					case !pick[i]:
					case c.truncate:
						data = applyTruncate(data, c.size)
					default:
						data = applyWrite(data, c.data, c.off)
					}
				}
				n.data, n.durable, n.pending = data, slices.Clone(data), nil
				return
			}
			k := keep(p, len(n.pending))
			for i, c := range n.pending[:k] {
				switch {
				case c.truncate:
					data = applyTruncate(data, c.size)
				case i == k-1 && loss.Tear != nil:
					data = applyWrite(data, c.data[:min(max(loss.Tear(p, len(c.data)), 0), len(c.data))], c.off)
				default:
					data = applyWrite(data, c.data, c.off)
				}
			}
			n.data, n.durable, n.pending = data, slices.Clone(data), nil
			return
		}
		names := maps.Clone(n.durableNames)
		if names == nil {
			names = make(map[string]*node)
		}
		for _, c := range n.namePending[:keep(p, len(n.namePending))] {
			if c.to == nil {
				delete(names, c.name)
			} else {
				names[c.name] = c.to
			}
		}
		n.names, n.durableNames, n.namePending = names, maps.Clone(names), nil
		for _, name := range slices.Sorted(maps.Keys(names)) {
			walk(names[name], path.Join(p, name))
		}
	}
	walk(root, "/")
}

// pageSize is the unit a disk writes back: a scattered file's unsynced
// writes survive page by page.
const pageSize = 4096

// pages splits the writes of changes at page boundaries (of the file's
// offsets), oldest first; truncates stay whole.
func pages(changes []dataChange) []dataChange {
	var out []dataChange
	for _, c := range changes {
		if c.truncate {
			out = append(out, c)
			continue
		}
		for off, b := c.off, c.data; ; {
			n := min(int64(len(b)), pageSize-off%pageSize)
			out = append(out, dataChange{off: off, data: b[:n]})
			if off, b = off+n, b[n:]; len(b) == 0 {
				break
			}
		}
	}
	return out
}

// scatter returns the loss's Scatter answer for a file, if it has one of
// the right length.
func scatter(loss Loss, p string, n int) []bool {
	if loss.Scatter == nil || n == 0 {
		return nil
	}
	if pick := loss.Scatter(p, n); len(pick) == n {
		return pick
	}
	return nil
}

// Scattered keeps each unsynced change of the files match selects with
// probability ½, independently, drawing from r (see Loss.Scatter).
func Scattered(r *rand.Rand, match func(path string) bool) func(path string, n int) []bool {
	return func(p string, n int) []bool {
		if !match(p) {
			return nil
		}
		pick := make([]bool, n)
		for i := range pick {
			pick[i] = r.IntN(2) == 0
		}
		return pick
	}
}

// syncAll makes the whole current tree durable, as a machine left idle
// long enough to write back its cache.
func syncAll(root *node) {
	seen := make(map[*node]bool)
	var walk func(n *node)
	walk = func(n *node) {
		if seen[n] {
			return
		}
		seen[n] = true
		n.sync()
		for _, c := range n.names {
			walk(c)
		}
	}
	walk(root)
}
