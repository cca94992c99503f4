//go:build linux

package auth

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// inotifyEvent encodes one inotify event as read(2) returns it.
func inotifyEvent(wd int32, mask uint32, name string) []byte {
	b := make([]byte, unix.SizeofInotifyEvent+len(name))
	binary.NativeEndian.PutUint32(b[0:4], uint32(wd))
	binary.NativeEndian.PutUint32(b[4:8], mask)
	binary.NativeEndian.PutUint32(b[12:16], uint32(len(name)))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

// TestWatchParse feeds the event parser what the kernel may send.
func TestWatchParse(t *testing.T) {
	f := newFixture(t, Options{WatchPasswd: true})
	t.Cleanup(func() { f.c.Close() })
	w := f.c.watch
	var wd int32
	for k := range w.names {
		wd = k
	}
	tests := []struct {
		name       string
		events     []byte
		want       bool
		wantBroken bool
	}{
		{"other file", inotifyEvent(wd, 0x2, "passwd.lock"), false, false},
		{"the file", inotifyEvent(wd, 0x80, "passwd"), true, false},
		{"the file, name padded", inotifyEvent(wd, 0x2, "passwd\x00\x00\x00\x00\x00\x00"), true, false},
		{"two events, second is the file", append(inotifyEvent(wd, 0x2, "x"), inotifyEvent(wd, 0x200, "passwd")...), true, false},
		{"unknown watch", inotifyEvent(wd+1, 0x2, "x"), true, false},
		{"overflow", inotifyEvent(-1, 0x4000, ""), true, true},
		{"watch gone", inotifyEvent(wd, 0x8000, ""), true, true},
		{"truncated", inotifyEvent(wd, 0x2, "passwd")[:18], true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.broken = false
			if got := w.parse(tt.events); got != tt.want || w.broken != tt.wantBroken {
				t.Errorf("got changed %v broken %v, want %v %v", got, w.broken, tt.want, tt.wantBroken)
			}
		})
	}
	w.broken = false
}
