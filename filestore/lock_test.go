package filestore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, ok, err := tryLockFile(path, 0o640)
	if err != nil || !ok {
		t.Fatalf("first tryLockFile: ok=%v err=%v", ok, err)
	}
	if _, ok, err := tryLockFile(path, 0o640); err != nil || ok {
		t.Fatalf("second tryLockFile while held: got ok=%v err=%v, want ok=false", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := lockFile(ctx, path, 0o640); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lockFile while held: got %v, want DeadlineExceeded", err)
	}

	got := make(chan error, 1)
	go func() {
		u, err := lockFile(context.Background(), path, 0o640)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(5 * time.Millisecond)
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("lockFile after unlock: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("lockFile did not get the lock after it was released")
	}
	u, ok, err := tryLockFile(path, 0o640)
	if err != nil || !ok {
		t.Fatalf("tryLockFile after all unlocked: ok=%v err=%v", ok, err)
	}
	u()
}
