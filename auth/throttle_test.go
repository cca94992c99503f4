package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCheckThrottles(t *testing.T) {
	f := newFixture(t, Options{Throttle: true})
	ctx := context.Background()
	const addr = "192.0.2.7"
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
		{"fail 2 again", basic("nobody", "x"), addr, 0, ErrUnauthorized},
		{"fail 3", "Basic garbage", addr, 0, ErrUnauthorized},
		{"no credentials do not count", "", addr, 0, ErrUnauthorized},
		{"fail 4", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"fail 5", basic("bob", "x"), addr, 0, ErrUnauthorized},
		{"refused even with the right password", basic("bob", "hunter2"), addr, 0, ErrThrottled},
		{"other address unaffected", basic("bob", "hunter2"), "192.0.2.8", 0, nil},
		{"unknown address never throttled", basic("bob", "hunter2"), "", 0, nil},
		{"still refused", basic("bob", "hunter2"), addr, throttleBackoff - time.Second, ErrThrottled},
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

func TestThrottleWindow(t *testing.T) {
	th := newThrottle()
	now := time.Unix(5000, 0)
	for range throttleLimit - 1 {
		th.failure("a", now)
	}
	now = now.Add(throttleWindow)
	th.failure("a", now) // the earlier failures are out of the window
	if !th.allow("a", now) {
		t.Error("blocked by failures outside the window")
	}
	for range throttleLimit - 1 {
		th.failure("a", now)
	}
	if th.allow("a", now) {
		t.Errorf("allowed after %d failures in the window", throttleLimit)
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle()
	th.max = 10
	now := time.Unix(5000, 0)
	for i := range 100 {
		th.failure(fmt.Sprintf("10.0.0.%d", i), now)
	}
	if got := th.len(); got != 10 {
		t.Errorf("got %d addresses tracked, want 10", got)
	}
	// The most recent ones are those kept.
	for range throttleLimit - 1 {
		th.failure("10.0.0.99", now)
	}
	if th.allow("10.0.0.99", now) {
		t.Error("recent address was evicted")
	}
	th.success("10.0.0.99")
	if !th.allow("10.0.0.99", now) || th.len() != 9 {
		t.Errorf("success did not clear the address (tracking %d)", th.len())
	}
}
