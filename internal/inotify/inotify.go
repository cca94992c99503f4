//go:build linux

package inotify

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Lost is the set of event bits after which a watch can no longer be
// trusted: the queue overflowed, or the watched directory went away.
const Lost = unix.IN_Q_OVERFLOW | unix.IN_IGNORED | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_UNMOUNT

// Each calls fn for each complete event record in b, with its watch
// descriptor, mask and name (without the NUL padding). It reports false if
// b ends in a partial record, which a caller treats like a lost event.
func Each(b []byte, fn func(wd int32, mask uint32, name []byte)) bool {
	for len(b) >= unix.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(b[0:4]))
		mask := binary.NativeEndian.Uint32(b[4:8])
		size := int(binary.NativeEndian.Uint32(b[12:16]))
		if unix.SizeofInotifyEvent+size > len(b) {
			return false
		}
		name := b[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+size]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		fn(wd, mask, name)
		b = b[unix.SizeofInotifyEvent+size:]
	}
	return len(b) == 0
}
