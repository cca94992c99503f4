//go:build linux

package filestore

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// inotifyEvent encodes one inotify event as read(2) returns it.
func inotifyEvent(mask uint32, name string) []byte {
	b := make([]byte, unix.SizeofInotifyEvent+len(name))
	binary.NativeEndian.PutUint32(b[0:4], 1)
	binary.NativeEndian.PutUint32(b[4:8], mask)
	binary.NativeEndian.PutUint32(b[12:16], uint32(len(name)))
	copy(b[unix.SizeofInotifyEvent:], name)
	return b
}

func TestDirWatchParse(t *testing.T) {
	w := &dirWatch{names: []string{logDataName, seqIdxName, hashIdxName, idIdxName}}
	tests := []struct {
		name       string
		events     []byte
		want       bool
		wantBroken bool
	}{
		{"lock file created", inotifyEvent(unix.IN_CREATE, "lock"), false, false},
		{"format temp file", inotifyEvent(unix.IN_MOVED_FROM, ".format.tmp-1"), false, false},
		{"seq.idx deleted", inotifyEvent(unix.IN_DELETE, "seq.idx"), true, false},
		{"hash.idx renamed over, name padded", inotifyEvent(unix.IN_MOVED_TO, "hash.idx\x00\x00\x00\x00\x00\x00\x00\x00"), true, false},
		{"second event counts", append(inotifyEvent(unix.IN_CREATE, "x"), inotifyEvent(unix.IN_CREATE, "id.idx")...), true, false},
		{"overflow", inotifyEvent(unix.IN_Q_OVERFLOW, ""), true, true},
		{"directory moved", inotifyEvent(unix.IN_MOVE_SELF, ""), true, true},
		{"watch removed", inotifyEvent(unix.IN_IGNORED, ""), true, true},
		{"truncated event", inotifyEvent(unix.IN_DELETE, "log")[:17], true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.broken = false
			if got := w.parse(tt.events); got != tt.want || w.broken != tt.wantBroken {
				t.Errorf("got changed %v broken %v, want %v %v", got, w.broken, tt.want, tt.wantBroken)
			}
		})
	}
}

func TestWatchDirOnTempDir(t *testing.T) {
	dir := t.TempDir()
	w, err := watchDir(dir, []string{"a"})
	if err != nil {
		t.Skipf("no watch here: %v", err)
	}
	defer w.close()
	if w.changed() {
		t.Fatal("a fresh watch reports a change")
	}
	if err := writeFileAtomic(dir+"/b", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w.changed() {
		t.Error("a change to another name: got changed, want not")
	}
	if err := writeFileAtomic(dir+"/a", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !w.changed() {
		t.Error("a file renamed over a watched name: got not changed, want changed")
	}
	if w.changed() {
		t.Error("after draining: got changed, want not")
	}
}
