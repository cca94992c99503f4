package auth

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestCheckThrottles walks one address through failed and good logins:
// failures count per (address, user), so bob's wrong passwords refuse bob
// from that address and no one else, and never a valid bearer token.
func TestCheckThrottles(t *testing.T) {
	f := newFixture(t, Options{Throttle: true})
	f.c.opts.TokenKeyPath = filepath.Join(f.dir, "token.key")
	ctx := context.Background()
	bobToken, _, err := f.c.IssueToken(ctx, User{Email: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	const addr = "192.0.2.7"
	alice := basic("alice@example.com", "alice-secret")
	steps := []struct {
		name    string
		header  string
		addr    string
		advance time.Duration
		want    error
	}{
		{"fail 1", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"fail 2", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"success resets", basic("bob", "hunter2"), addr, 0, nil},
		{"fail 1 again", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"fail 2 again", basic("bob", "y"), addr, 0, ErrUnauthorized},
		{"other users' failures do not count for bob", basic("nobody", "x"), addr, 0, ErrUnauthorized},
		{"nor malformed headers", "Basic garbage", addr, 0, ErrUnauthorized},
		{"no credentials do not count", "", addr, 0, ErrUnauthorized},
		{"bad tokens do not count", "Bearer " + bobToken + "x", addr, 0, ErrUnauthorized},
		{"fail 3", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"fail 4", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"fail 5", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"refused even with the right password", basic("bob", "hunter2"), addr, 0, ErrThrottled},
		{"another user from that address is served", alice, addr, 0, nil},
		{"bob's valid token is never throttled", "Bearer " + bobToken, addr, 0, nil},
		{"no credentials are answered, not throttled", "", addr, 0, ErrUnauthorized},
		{"bob from another address is served", basic("bob", "hunter2"), "192.0.2.8", 0, nil},
		{"unknown address never throttled", basic("bob", "hunter2"), "", 0, nil},
		{"still refused", basic("bob", "hunter2"), addr, ThrottleBackoff - time.Second, ErrThrottled},
		{"after backoff", basic("bob", "hunter2"), addr, time.Second, nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f.clock.Advance(s.advance)
			before := f.compares.Load()
			_, err := f.c.Check(ctx, s.header, s.addr)
			if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, s.want)
			}
			if s.want == ErrThrottled && f.compares.Load() != before {
				t.Error("a throttled attempt ran bcrypt")
			}
		})
	}
}

// TestCheckThrottlesAddress fails logins from one address as many users,
// each fewer times than the per-user limit: the address as a whole is
// refused at its own, higher limit, which a success does not reset; a
// valid token still passes.
func TestCheckThrottlesAddress(t *testing.T) {
	f := newFixture(t, Options{Throttle: true})
	f.c.opts.TokenKeyPath = filepath.Join(f.dir, "token.key")
	ctx := context.Background()
	bobToken, _, err := f.c.IssueToken(ctx, User{Email: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	const addr = "192.0.2.9"
	alice := basic("alice@example.com", "alice-secret")
	for i := range throttleAddrLimit - 1 {
		if _, err := f.c.Check(ctx, basic(fmt.Sprintf("guess%d@example.com", i), "x"), addr); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("failure %d: got %v, want %v", i+1, err, ErrUnauthorized)
		}
	}
	if _, err := f.c.Check(ctx, alice, addr); err != nil {
		t.Fatalf("alice one failure short of the address limit: got %v, want success", err)
	}
	// alice's success must not have reset the address's count.
	if _, err := f.c.Check(ctx, basic("bob", "x"), addr); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("last failure: got %v, want %v", err, ErrUnauthorized)
	}
	before := f.compares.Load()
	if _, err := f.c.Check(ctx, alice, addr); !errors.Is(err, ErrThrottled) {
		t.Fatalf("alice after %d failures from her address: got %v, want %v", throttleAddrLimit, err, ErrThrottled)
	}
	if f.compares.Load() != before {
		t.Error("a throttled attempt ran bcrypt")
	}
	if _, err := f.c.Check(ctx, "Bearer "+bobToken, addr); err != nil {
		t.Errorf("valid token from a throttled address: got %v, want success", err)
	}
	if _, err := f.c.Check(ctx, alice, "192.0.2.10"); err != nil {
		t.Errorf("alice from another address: got %v, want success", err)
	}
	f.clock.Advance(ThrottleBackoff)
	if _, err := f.c.Check(ctx, alice, addr); err != nil {
		t.Errorf("alice after the backoff: got %v, want success", err)
	}
}

func TestThrottleWindow(t *testing.T) {
	th := newThrottle()
	now := time.Unix(5000, 0)
	for range throttleUserLimit - 1 {
		th.failure("a", "u", now)
	}
	now = now.Add(throttleWindow)
	th.failure("a", "u", now) // the earlier failures are out of the window
	if !th.allow("a", "u", now) {
		t.Error("blocked by failures outside the window")
	}
	for range throttleUserLimit - 1 {
		th.failure("a", "u", now)
	}
	if th.allow("a", "u", now) {
		t.Errorf("allowed after %d failures in the window", throttleUserLimit)
	}
	if !th.allow("a", "v", now) {
		t.Error("another user from the same address blocked")
	}
}

func TestThrottleLongUserNames(t *testing.T) {
	th := newThrottle()
	now := time.Unix(5000, 0)
	long := string(make([]byte, 1<<16))
	for i := range throttleUserLimit {
		th.failure("a", long+fmt.Sprint(i), now)
	}
	if th.allow("a", long, now) {
		t.Error("names longer than any user were counted apart")
	}
	for el := th.order.Front(); el != nil; el = el.Next() {
		if n := len(el.Value.(*throttleItem).key.user); n > maxThrottleUser {
			t.Errorf("kept a user name of %d bytes, want at most %d", n, maxThrottleUser)
		}
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle()
	th.max = 10
	now := time.Unix(5000, 0)
	for i := range 100 {
		th.failure(fmt.Sprintf("10.0.0.%d", i), "u", now)
	}
	if got := th.len(); got != 10 {
		t.Errorf("got %d keys tracked, want 10", got)
	}
	// The most recent ones are those kept.
	for range throttleUserLimit - 1 {
		th.failure("10.0.0.99", "u", now)
	}
	if th.allow("10.0.0.99", "u", now) {
		t.Error("recent address was evicted")
	}
	th.success("10.0.0.99", "u")
	if !th.allow("10.0.0.99", "u", now) || th.len() != 9 {
		t.Errorf("success did not clear the pair, or cleared the address (tracking %d)", th.len())
	}
}
