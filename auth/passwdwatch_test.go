package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// countStats makes f's Checker count its stats of the passwd file.
func countStats(f *fixture) *atomic.Int64 {
	var n atomic.Int64
	f.c.testHookStat = func() { n.Add(1) }
	return &n
}

// mustCheck checks user and password and compares the outcome with want
// (nil: success).
func mustCheck(t *testing.T, c *Checker, user, password string, want error) {
	t.Helper()
	_, err := c.Check(context.Background(), basic(user, password), "")
	if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
		t.Fatalf("check %s with %q: got %v, want %v", user, password, err, want)
	}
}

// TestPasswdChangesTakeEffectAtOnce changes the passwd file in each way an
// admin or editor does and checks right after: with and without the watch,
// with and without the credential cache, the next check sees the change.
func TestPasswdChangesTakeEffectAtOnce(t *testing.T) {
	for _, watch := range []bool{false, true} {
		for _, cache := range []bool{false, true} {
			t.Run(map[bool]string{false: "stat", true: "watch"}[watch]+map[bool]string{false: "", true: "+cache"}[cache], func(t *testing.T) {
				f := newFixture(t, Options{WatchPasswd: watch, Cache: cache})
				t.Cleanup(func() { f.c.Close() })
				if watch && runtime.GOOS == "linux" && f.c.watch == nil {
					t.Fatalf("no watch on linux; log: %s", f.logs)
				}
				mustCheck(t, f.c, "bob", "hunter2", nil)

				f.setPassword(t, "bob", "new password") // rename over
				mustCheck(t, f.c, "bob", "hunter2", ErrUnauthorized)
				mustCheck(t, f.c, "bob", "new password", nil)

				h, err := HashPassword("edited in place", bcrypt.MinCost)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(f.path, []byte("bob:"+h+":\n"), 0o600); err != nil { // edit in place
					t.Fatal(err)
				}
				mustCheck(t, f.c, "bob", "new password", ErrUnauthorized)
				mustCheck(t, f.c, "bob", "edited in place", nil)
				mustCheck(t, f.c, "alice@example.com", "alice-secret", ErrUnauthorized)

				if err := os.Remove(f.path); err != nil {
					t.Fatal(err)
				}
				mustCheck(t, f.c, "bob", "edited in place", ErrUnauthorized)
			})
		}
	}
}

// TestWatchSavesStats counts the stats of the passwd file: one a check
// without the watch; with it, none while nothing changes, one after a
// change, one once PasswdRecheck has passed.
func TestWatchSavesStats(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the watch is inotify, on linux only")
	}
	tests := []struct {
		name  string
		watch bool
		want  [3]int64 // stats for 5 quiet checks; after a change; after PasswdRecheck
	}{
		{"stat every check", false, [3]int64{5, 1, 1}},
		{"watch", true, [3]int64{0, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{WatchPasswd: tt.watch})
			t.Cleanup(func() { f.c.Close() })
			mustCheck(t, f.c, "bob", "hunter2", nil)
			mustCheck(t, f.c, "bob", "hunter2", nil) // drains what the first read queued
			stats := countStats(f)
			for range 5 {
				mustCheck(t, f.c, "bob", "hunter2", nil)
			}
			var got [3]int64
			got[0] = stats.Swap(0)
			f.setPassword(t, "bob", "changed")
			mustCheck(t, f.c, "bob", "changed", nil)
			got[1] = stats.Swap(0)
			f.clock.Advance(PasswdRecheck)
			mustCheck(t, f.c, "bob", "changed", nil)
			got[2] = stats.Swap(0)
			if got != tt.want {
				t.Errorf("stats: got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWatchFollowsSymlink keeps the passwd file elsewhere behind a symlink:
// a change to the target is seen at once.
func TestWatchFollowsSymlink(t *testing.T) {
	f := newFixture(t, Options{})
	other := filepath.Join(t.TempDir(), "real-passwd")
	if err := os.Rename(f.path, other); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, f.path); err != nil {
		t.Fatal(err)
	}
	c, err := NewChecker(Options{PasswdPath: f.path, BcryptCost: bcrypt.MinCost, WatchPasswd: true, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	mustCheck(t, c, "bob", "hunter2", nil)
	h, err := HashPassword("via the target", bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tmp := other + ".tmp"
	if err := os.WriteFile(tmp, []byte("bob:"+h+":\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, other); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, c, "bob", "hunter2", ErrUnauthorized)
	mustCheck(t, c, "bob", "via the target", nil)
}

// TestCheckerClose: after Close, checks still see changes (by stat).
func TestCheckerClose(t *testing.T) {
	f := newFixture(t, Options{WatchPasswd: true})
	mustCheck(t, f.c, "bob", "hunter2", nil)
	if err := f.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Close(); err != nil {
		t.Fatalf("second Close: got %v, want nil", err)
	}
	f.setPassword(t, "bob", "after close")
	mustCheck(t, f.c, "bob", "after close", nil)
}

// BenchmarkCheckCachedWatched is BenchmarkCheckCached as apie-serve runs
// it: the passwd file watched rather than stat'ed on every check.
func BenchmarkCheckCachedWatched(b *testing.B) {
	f := newFixture(b, Options{Cache: true, WatchPasswd: true})
	b.Cleanup(func() { f.c.Close() })
	h := basic("bob", "hunter2")
	ctx := context.Background()
	for b.Loop() {
		if _, err := f.c.Check(ctx, h, ""); err != nil {
			b.Fatal(err)
		}
	}
}
