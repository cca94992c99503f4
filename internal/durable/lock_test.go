package durable

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// lockers are the two ways to hold a lock file; each must exclude the
// other, in one process as across processes.
var lockers = []struct {
	name string
	lock func(ctx context.Context, path string) (func(), error)
}{
	{"Lock", func(ctx context.Context, path string) (func(), error) { return Lock(ctx, path, 0o640) }},
	{"KeptLock", func(ctx context.Context, path string) (func(), error) {
		k, err := OpenKeptLock(path, 0o640)
		if err != nil {
			return nil, err
		}
		unlock, err := k.Lock(ctx)
		if err != nil {
			k.Close()
			return nil, err
		}
		return func() { unlock(); k.Close() }, nil
	}},
}

func TestLockExcludes(t *testing.T) {
	for _, holder := range lockers {
		for _, waiter := range lockers {
			t.Run(holder.name+"/"+waiter.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "lock")
				unlock, err := holder.lock(context.Background(), path)
				if err != nil {
					t.Skipf("%s: %v", holder.name, err) // KeptLock off Linux
				}
				if _, ok, err := TryLock(path, 0o640); err != nil || ok {
					t.Fatalf("TryLock while held: got ok=%v err=%v, want ok=false", ok, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				defer cancel()
				if _, err := waiter.lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%s while held: got %v, want DeadlineExceeded", waiter.name, err)
				}
				got := make(chan error, 1)
				go func() {
					u, err := waiter.lock(context.Background(), path)
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
						t.Fatalf("%s after unlock: %v", waiter.name, err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s did not get the lock after it was released", waiter.name)
				}
				u, ok, err := TryLock(path, 0o640)
				if err != nil || !ok {
					t.Fatalf("TryLock after all unlocked: ok=%v err=%v", ok, err)
				}
				u()
			})
		}
	}
}
