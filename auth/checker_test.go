package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"apie/internal/testutil"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a Checker over a passwd file in a temp dir, counting bcrypt
// comparisons.
type fixture struct {
	dir      string
	path     string
	c        *Checker
	clock    *clock
	compares atomic.Int64
	fakes    atomic.Int64 // comparisons against the fake hash
	logs     *testutil.SyncBuffer
}

// testUsers are the users every fixture starts with: email -> password.
var testUsers = map[string]string{
	"alice@example.com": "alice-secret",
	"bob":               "hunter2",
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: newClock(), logs: &testutil.SyncBuffer{}}
	f.path = filepath.Join(f.dir, "passwd")
	err := Update(context.Background(), f.path, 0, func(p *Passwd) error {
		for _, email := range []string{"alice@example.com", "bob"} {
			h, err := HashPassword(testUsers[email], bcrypt.MinCost)
			if err != nil {
				return err
			}
			if err := p.Add(Entry{Email: email, Hash: h, Info: "info of " + email}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	opts.PasswdPath = f.path
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.MinCost
	}
	opts.Now = f.clock.Now
	opts.Logger = slog.New(slog.NewTextHandler(f.logs, nil))
	c, err := NewChecker(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.testHookCompare = func(hash string) {
		f.compares.Add(1)
		if strings.HasSuffix(hash, fakeHashTail) {
			f.fakes.Add(1)
		}
	}
	f.c = c
	return f
}

// setPassword changes a user's password through Update, as the CLI does.
func (f *fixture) setPassword(t testing.TB, email, password string) {
	t.Helper()
	h, err := HashPassword(password, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	err = Update(context.Background(), f.path, 0, func(p *Passwd) error {
		e, _ := p.Lookup(email)
		e.Hash = h
		return p.Set(e)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestCheckBasic(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name   string
		header string
		want   User
		err    error
		fakes  int64 // comparisons against the fake hash
		total  int64 // all comparisons
	}{
		{"right password", basic("alice@example.com", "alice-secret"),
			User{"alice@example.com", "info of alice@example.com"}, nil, 0, 1},
		{"htpasswd-style user", basic("bob", "hunter2"), User{"bob", "info of bob"}, nil, 0, 1},
		{"lowercase scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("bob:hunter2")),
			User{"bob", "info of bob"}, nil, 0, 1},
		{"wrong password", basic("alice@example.com", "nope"), User{}, ErrUnauthorized, 0, 1},
		{"password with colon", basic("alice@example.com", "alice-secret:x"), User{}, ErrUnauthorized, 0, 1},
		{"unknown user", basic("mallory@example.com", "alice-secret"), User{}, ErrUnauthorized, 1, 1},
		{"empty header", "", User{}, ErrUnauthorized, 0, 0},
		{"no scheme", base64.StdEncoding.EncodeToString([]byte("bob:hunter2")), User{}, ErrUnauthorized, 0, 0},
		{"no space", "Basic", User{}, ErrUnauthorized, 0, 0},
		{"bad base64", "Basic !!!notbase64", User{}, ErrUnauthorized, 0, 0},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("bobhunter2")), User{}, ErrUnauthorized, 0, 0},
		{"empty user", basic("", "hunter2"), User{}, ErrUnauthorized, 0, 0},
		{"other scheme", "Digest username=bob", User{}, ErrUnauthorized, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.compares.Store(0)
			f.fakes.Store(0)
			got, err := f.c.Check(context.Background(), tt.header, "")
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if n := f.fakes.Load(); n != tt.fakes {
				t.Errorf("got %d fake-hash compares, want %d", n, tt.fakes)
			}
			if n := f.compares.Load(); n != tt.total {
				t.Errorf("got %d compares, want %d", n, tt.total)
			}
		})
	}
	if strings.Contains(f.logs.String(), "alice-secret") || strings.Contains(f.logs.String(), "hunter2") {
		t.Errorf("a password was logged: %q", f.logs.String())
	}
}

func TestFakeHashMatchesConfiguredCost(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, 5, DefaultBcryptCost, 12} {
		h := fakeHash(cost)
		got, err := bcrypt.Cost([]byte(h))
		if err != nil {
			t.Fatalf("cost %d: fake hash %q malformed: %v", cost, h, err)
		}
		if got != cost {
			t.Errorf("got cost %d, want %d", got, cost)
		}
		if cost > 5 {
			continue // comparing at high cost is slow; the format is what matters
		}
		if ok, err := compare(h, "anything"); ok || err != nil {
			t.Errorf("compare(fake) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestCheckMalformedStoredHash(t *testing.T) {
	f := newFixture(t, Options{})
	if err := os.WriteFile(f.path, []byte("m@x:$2a$04$tooshort:info\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.Check(context.Background(), basic("m@x", "the-password"), "")
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("got %v, want %v", err, ErrUnauthorized)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "unusable") || !strings.Contains(logs, "m@x") {
		t.Errorf("fault not logged: %q", logs)
	}
	if strings.Contains(logs, "the-password") || strings.Contains(logs, "tooshort") {
		t.Errorf("credentials logged: %q", logs)
	}
}

func TestCheckBrokenPasswdIsAFault(t *testing.T) {
	f := newFixture(t, Options{})
	if err := os.WriteFile(f.path, []byte("# ok\nbroken line\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := f.c.Check(context.Background(), basic("bob", "hunter2"), "")
	if err == nil || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("got %v, want a fault that is not %v", err, ErrUnauthorized)
	}
	if !strings.Contains(err.Error(), f.path+":2") {
		t.Errorf("got %q, want it to name %s:2", err, f.path)
	}
}

func TestCheckRereadsChangedPasswd(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if _, err := f.c.Check(ctx, basic("bob", "hunter2"), ""); err != nil {
		t.Fatal(err)
	}
	f.setPassword(t, "bob", "correct horse")
	if _, err := f.c.Check(ctx, basic("bob", "hunter2"), ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("old password: got %v, want %v", err, ErrUnauthorized)
	}
	if _, err := f.c.Check(ctx, basic("bob", "correct horse"), ""); err != nil {
		t.Errorf("new password: got %v, want success", err)
	}
	if err := Update(ctx, f.path, 0, func(p *Passwd) error { return p.Remove("bob") }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Check(ctx, basic("bob", "correct horse"), ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("removed user: got %v, want %v", err, ErrUnauthorized)
	}
}

func TestNewCheckerReadsNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "passwd")
	if err := os.WriteFile(path, []byte("not a passwd file\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	c, err := NewChecker(Options{PasswdPath: path, TokenKeyPath: filepath.Join(dir, "token.key")})
	if err != nil {
		t.Fatalf("NewChecker read the file: %v", err)
	}
	if c.loaded {
		t.Error("passwd loaded at construction")
	}
	if _, err := os.Stat(filepath.Join(dir, "token.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token key touched at construction: %v", err)
	}
}

func TestNewCheckerOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"defaults", Options{PasswdPath: "p"}, true},
		{"no passwd", Options{}, false},
		{"cost too low", Options{PasswdPath: "p", BcryptCost: 3}, false},
		{"cost too high", Options{PasswdPath: "p", BcryptCost: 32}, false},
		{"negative cache size", Options{PasswdPath: "p", CacheSize: -1}, false},
		{"negative ttl", Options{PasswdPath: "p", CacheTTL: -time.Second}, false},
		{"lifetime max", Options{PasswdPath: "p", TokenLifetime: MaxTokenLifetime}, true},
		{"lifetime too long", Options{PasswdPath: "p", TokenLifetime: MaxTokenLifetime + time.Second}, false},
		{"negative lifetime", Options{PasswdPath: "p", TokenLifetime: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewChecker(tt.opts)
			if got := err == nil; got != tt.ok {
				t.Fatalf("got ok=%v (err %v), want ok=%v", got, err, tt.ok)
			}
			if c != nil && (c.opts.BcryptCost != DefaultBcryptCost || c.opts.CacheSize != DefaultCacheSize ||
				c.opts.CacheTTL != DefaultCacheTTL || c.opts.TokenLifetime == 0) {
				t.Errorf("defaults not applied: %+v", c.opts)
			}
		})
	}
}

func TestCheckCanceledContext(t *testing.T) {
	f := newFixture(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.c.Check(ctx, basic("bob", "hunter2"), ""); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
}

func TestCheckConcurrent(t *testing.T) {
	f := newFixture(t, Options{Cache: true, Throttle: true})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				_, err := f.c.Check(context.Background(), basic("bob", "hunter2"), "10.0.0.1")
				if err != nil {
					t.Errorf("goroutine %d, try %d: %v", i, j, err)
				}
			}
		})
	}
	wg.Go(func() { f.setPassword(t, "alice@example.com", "rotated") })
	wg.Wait()
}
