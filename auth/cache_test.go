package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCacheHitAvoidsBcrypt(t *testing.T) {
	f := newFixture(t, Options{Cache: true})
	ctx := context.Background()
	steps := []struct {
		name    string
		header  string
		advance time.Duration
		wantErr error
		want    int64 // total compares after this step
	}{
		{"first login verifies", basic("bob", "hunter2"), 0, nil, 1},
		{"second login is cached", basic("bob", "hunter2"), 0, nil, 1},
		{"third too", basic("bob", "hunter2"), time.Minute, nil, 1},
		{"wrong password is never cached", basic("bob", "hunter3"), 0, ErrUnauthorized, 2},
		{"and checked again", basic("bob", "hunter3"), 0, ErrUnauthorized, 3},
		{"right one still cached", basic("bob", "hunter2"), 0, nil, 3},
		{"expired after TTL", basic("bob", "hunter2"), DefaultCacheTTL, nil, 4},
		{"cached again", basic("bob", "hunter2"), 0, nil, 4},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			f.clock.Advance(s.advance)
			_, err := f.c.Check(ctx, s.header, "")
			if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, s.wantErr)
			}
			if got := f.compares.Load(); got != s.want {
				t.Errorf("got %d compares, want %d", got, s.want)
			}
		})
	}
}

func TestCachePasswordChangeTakesEffectAtOnce(t *testing.T) {
	f := newFixture(t, Options{Cache: true})
	ctx := context.Background()
	for range 2 {
		if _, err := f.c.Check(ctx, basic("bob", "hunter2"), ""); err != nil {
			t.Fatal(err)
		}
	}
	f.setPassword(t, "bob", "new-password")
	if _, err := f.c.Check(ctx, basic("bob", "hunter2"), ""); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("old password after change: got %v, want %v", err, ErrUnauthorized)
	}
	if _, err := f.c.Check(ctx, basic("bob", "new-password"), ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if got, want := f.compares.Load(), int64(3); got != want {
		t.Errorf("got %d compares, want %d", got, want)
	}
}

func TestCacheOffComparesEveryTime(t *testing.T) {
	f := newFixture(t, Options{})
	for range 3 {
		if _, err := f.c.Check(context.Background(), basic("bob", "hunter2"), ""); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := f.compares.Load(), int64(3); got != want {
		t.Errorf("got %d compares, want %d", got, want)
	}
}

func TestCacheBounded(t *testing.T) {
	f := newFixture(t, Options{Cache: true, CacheSize: 1})
	ctx := context.Background()
	logins := []struct {
		user, password string
		want           int64 // compares so far
	}{
		{"bob", "hunter2", 1},
		{"bob", "hunter2", 1},
		{"alice@example.com", "alice-secret", 2}, // evicts bob
		{"bob", "hunter2", 3},
		{"bob", "hunter2", 3},
	}
	for i, l := range logins {
		if _, err := f.c.Check(ctx, basic(l.user, l.password), ""); err != nil {
			t.Fatal(err)
		}
		if got := f.compares.Load(); got != l.want {
			t.Errorf("login %d (%s): got %d compares, want %d", i, l.user, got, l.want)
		}
		if got := f.c.cache.len(); got > 1 {
			t.Errorf("cache holds %d entries, want at most 1", got)
		}
	}
}

func TestCredCacheEvictsOldest(t *testing.T) {
	c := newCredCache(3, time.Hour)
	now := time.Unix(1000, 0)
	keys := make([]string, 5)
	for i := range keys {
		keys[i] = string(rune('a' + i))
		c.add(cacheKey(keys[i], "pw", "h"), now)
	}
	for i, k := range keys {
		got := c.hit(cacheKey(k, "pw", "h"), now)
		if want := i >= 2; got != want {
			t.Errorf("key %q: got hit=%v, want %v", k, got, want)
		}
	}
	if got := c.len(); got != 3 {
		t.Errorf("got %d entries, want 3", got)
	}
}

func TestCacheKeyDistinct(t *testing.T) {
	tests := []struct{ a, b [3]string }{
		{[3]string{"ab", "c", "h"}, [3]string{"a", "bc", "h"}},
		{[3]string{"a", "b", "h1"}, [3]string{"a", "b", "h2"}},
		{[3]string{"a", "", "bh"}, [3]string{"a", "b", "h"}},
	}
	for _, tt := range tests {
		ka := cacheKey(tt.a[0], tt.a[1], tt.a[2])
		kb := cacheKey(tt.b[0], tt.b[1], tt.b[2])
		if ka == kb {
			t.Errorf("cacheKey(%q) == cacheKey(%q)", tt.a, tt.b)
		}
	}
}
