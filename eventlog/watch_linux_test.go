//go:build linux

package eventlog

import (
	"apie/internal/durable"
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
	w := &dirWatch{names: watchedNames}
	tests := []struct {
		name       string
		events     []byte
		want       uint32
		wantBroken bool
	}{
		{"format temp file", inotifyEvent(unix.IN_MOVED_FROM, ".format.tmp-1"), 0, false},
		{"seq.idx deleted", inotifyEvent(unix.IN_DELETE, "seq.idx"), 0b00010, false},
		{"hash.idx renamed over, name padded", inotifyEvent(unix.IN_MOVED_TO, "hash.idx\x00\x00\x00\x00\x00\x00\x00\x00"), 0b00100, false},
		{"lock file created", inotifyEvent(unix.IN_CREATE, "lock"), watchLock, false},
		{"two events", append(inotifyEvent(unix.IN_CREATE, "id.idx"), inotifyEvent(unix.IN_DELETE, "log")...), 0b01001, false},
		{"overflow", inotifyEvent(unix.IN_Q_OVERFLOW, ""), 0, true},
		{"directory moved", inotifyEvent(unix.IN_MOVE_SELF, ""), 0, true},
		{"watch removed", inotifyEvent(unix.IN_IGNORED, ""), 0, true},
		{"truncated event", inotifyEvent(unix.IN_DELETE, "log")[:17], 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.broken = false
			if got := w.parse(tt.events); got != tt.want || w.broken != tt.wantBroken {
				t.Errorf("got mask %05b broken %v, want %05b %v", got, w.broken, tt.want, tt.wantBroken)
			}
		})
	}
}

func TestWatchDirOnTempDir(t *testing.T) {
	dir := t.TempDir()
	w, err := watchDir(dir, []string{"a", "b"})
	if err != nil {
		t.Skipf("no watch here: %v", err)
	}
	defer w.close()
	const a, b = 0b01, 0b10
	if w.changed(a | b) {
		t.Fatal("a fresh watch reports a change")
	}
	if err := durable.WriteFile(dir+"/c", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w.changed(a | b) {
		t.Error("a change to another name: got changed, want not")
	}
	if err := durable.WriteFile(dir+"/a", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w.changed(b) {
		t.Error("a renamed over, asking about b: got changed, want not")
	}
	if !w.changed(a) {
		t.Error("a renamed over, asking about a: got not changed, want changed (kept since the call about b)")
	}
	if w.changed(a | b) {
		t.Error("after asking: got changed, want not")
	}
}
