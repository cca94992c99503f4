package eventlog

import (
	"context"
	"testing"
	"time"

	"apie/event"
	"apie/store"
)

// TestNotifier: an append through another log instance on the directory
// closes the channel taken before it, with the kernel watch and with the
// poll fallback; Close wakes the last waiters.
func TestNotifier(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts NotifyOptions
		mode string
	}{
		{"inotify", NotifyOptions{}, "inotify"},
		{"poll", NotifyOptions{Poll: true, PollInterval: 20 * time.Millisecond}, "poll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			l, err := OpenEventLog(ctx, LogOptions{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			n := NewNotifier(dir, tc.opts)
			ch := n.Changed()
			if got := n.Mode(); got != tc.mode {
				t.Fatalf("mode %q, want %q", got, tc.mode)
			}
			time.Sleep(50 * time.Millisecond) // the poll's first look, before the append
			select {
			case <-ch:
				t.Fatal("woken before any append")
			default:
			}
			d := event.Draft{EventID: event.NewUUID(), EventType: "t", Body: []byte(`1`)}
			if _, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: "x"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				t.Fatal("no wake-up after an append")
			}
			last := n.Changed()
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-last:
			default:
				t.Fatal("Close did not wake the waiters")
			}
		})
	}
}
