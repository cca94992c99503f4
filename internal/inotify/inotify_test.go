//go:build linux

package inotify

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func record(wd int32, mask uint32, name string, pad int) []byte {
	b := make([]byte, unix.SizeofInotifyEvent+len(name)+pad)
	binary.NativeEndian.PutUint32(b[0:4], uint32(wd))
	binary.NativeEndian.PutUint32(b[4:8], mask)
	binary.NativeEndian.PutUint32(b[12:16], uint32(len(name)+pad))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

func TestEach(t *testing.T) {
	buf := append(record(1, unix.IN_CREATE, "passwd", 2), record(2, unix.IN_Q_OVERFLOW, "", 0)...)
	var names []string
	var masks []uint32
	ok := Each(buf, func(wd int32, mask uint32, name []byte) {
		names = append(names, string(name))
		masks = append(masks, mask)
	})
	if !ok {
		t.Fatal("got false for complete records")
	}
	if len(names) != 2 || names[0] != "passwd" || names[1] != "" {
		t.Fatalf("got names %q, want [passwd \"\"]", names)
	}
	if masks[1]&Lost == 0 {
		t.Fatal("overflow is not in Lost")
	}
	if Each(buf[:len(buf)-3], func(int32, uint32, []byte) {}) {
		t.Fatal("got true for a partial record")
	}
}

func FuzzEach(f *testing.F) {
	f.Add(record(1, unix.IN_MOVED_TO, "log", 4))
	f.Fuzz(func(t *testing.T, b []byte) {
		Each(b, func(int32, uint32, []byte) {})
	})
}
