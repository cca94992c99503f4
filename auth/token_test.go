package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenFixture is a fixture with tokens enabled.
func tokenFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, Options{Cache: true})
	f.c.opts.TokenKeyPath = filepath.Join(f.dir, "token.key")
	return f
}

func (f *fixture) issue(t *testing.T, email string) string {
	t.Helper()
	tok, exp, err := f.c.IssueToken(context.Background(), User{Email: email})
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(DefaultTokenLifetime).Truncate(time.Second); !exp.Equal(want) {
		t.Errorf("expires: got %v, want %v", exp, want)
	}
	return tok
}

// retoken re-encodes a token's payload after edit, keeping its MAC.
func retoken(t *testing.T, tok string, edit func(payload []byte) []byte) string {
	t.Helper()
	p64, m64, _ := strings.Cut(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(edit(payload)) + "." + m64
}

func TestCheckBearer(t *testing.T) {
	f := tokenFixture(t)
	ctx := context.Background()
	bob := f.issue(t, "bob")
	alice := f.issue(t, "alice@example.com")
	p64, m64, _ := strings.Cut(bob, ".")
	otherKey := bytes.Repeat([]byte{7}, tokenKeySize)
	forged, err := signToken(otherKey, tokenPayload{Sub: "bob", Exp: f.clock.Now().Add(time.Hour).Unix(), Pwf: "0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	mac := []byte(m64)
	mac[3] ^= 1

	tests := []struct {
		name   string
		header string
		want   User
		err    error
	}{
		{"good", "Bearer " + bob, User{"bob", "info of bob"}, nil},
		{"lowercase scheme", "bearer " + alice, User{"alice@example.com", "info of alice@example.com"}, nil},
		{"tampered payload", "Bearer " + retoken(t, bob, func(p []byte) []byte {
			return bytes.Replace(p, []byte(`"bob"`), []byte(`"alice@example.com"`), 1)
		}), User{}, ErrUnauthorized},
		{"tampered MAC", "Bearer " + p64 + "." + string(mac), User{}, ErrUnauthorized},
		{"MAC cut short", "Bearer " + p64 + "." + m64[:10], User{}, ErrUnauthorized},
		{"no MAC", "Bearer " + p64, User{}, ErrUnauthorized},
		{"other key", "Bearer " + forged, User{}, ErrUnauthorized},
		{"swapped MACs", "Bearer " + p64 + "." + strings.SplitN(alice, ".", 2)[1], User{}, ErrUnauthorized},
		{"empty token", "Bearer ", User{}, ErrUnauthorized},
		{"garbage", "Bearer a.b.c", User{}, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.compares.Load()
			got, err := f.c.Check(ctx, tt.header, "")
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if f.compares.Load() != before {
				t.Error("a bearer check ran bcrypt")
			}
		})
	}
}

func TestBearerExpires(t *testing.T) {
	f := tokenFixture(t)
	tok := f.issue(t, "bob")
	f.clock.Advance(DefaultTokenLifetime - time.Second)
	if _, err := f.c.Check(context.Background(), "Bearer "+tok, ""); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.c.Check(context.Background(), "Bearer "+tok, ""); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("at expiry: got %v, want %v", err, ErrUnauthorized)
	}
}

func TestBearerDiesWithPasswordOrUser(t *testing.T) {
	f := tokenFixture(t)
	ctx := context.Background()
	bob := f.issue(t, "bob")
	alice := f.issue(t, "alice@example.com")
	// Info changes do not revoke.
	if err := Update(ctx, f.path, 0, func(p *Passwd) error {
		e, _ := p.Lookup("bob")
		e.Info = "new info"
		return p.Set(e)
	}); err != nil {
		t.Fatal(err)
	}
	if u, err := f.c.Check(ctx, "Bearer "+bob, ""); err != nil || u.Info != "new info" {
		t.Fatalf("after info change: got %q, %v; want new info", u, err)
	}
	f.setPassword(t, "bob", "changed")
	if _, err := f.c.Check(ctx, "Bearer "+bob, ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("after password change: got %v, want %v", err, ErrUnauthorized)
	}
	if err := Update(ctx, f.path, 0, func(p *Passwd) error { return p.Remove("alice@example.com") }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Check(ctx, "Bearer "+alice, ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("after user removal: got %v, want %v", err, ErrUnauthorized)
	}
	if _, err := f.c.Check(ctx, "Bearer "+f.issue(t, "bob"), ""); err != nil {
		t.Errorf("new token after change: %v", err)
	}
}

func TestIssueToken(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := context.Background()
	if _, _, err := f.c.IssueToken(ctx, User{Email: "bob"}); !errors.Is(err, ErrNoTokens) {
		t.Errorf("tokens off: got %v, want %v", err, ErrNoTokens)
	}
	if _, err := f.c.Check(ctx, "Bearer x.y", ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bearer with tokens off: got %v, want %v", err, ErrUnauthorized)
	}
	keyPath := filepath.Join(f.dir, "token.key")
	f.c.opts.TokenKeyPath = keyPath
	if _, err := f.c.Check(ctx, "Bearer x.y", ""); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bearer before any key: got %v, want %v", err, ErrUnauthorized)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("checking a token made a key: %v", err)
	}
	if _, _, err := f.c.IssueToken(ctx, User{Email: "nobody"}); !errors.Is(err, ErrNoUser) {
		t.Errorf("unknown user: got %v, want %v", err, ErrNoUser)
	}
	tok := f.issue(t, "bob")
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != tokenKeySize {
		t.Errorf("key file: got mode %v size %d, want 0600 and %d", fi.Mode().Perm(), fi.Size(), tokenKeySize)
	}
	// Another Checker (another process) reads the same key.
	c2, err := NewChecker(Options{PasswdPath: f.path, TokenKeyPath: keyPath, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := c2.Check(ctx, "Bearer "+tok, ""); err != nil || u.Email != "bob" {
		t.Errorf("second checker: got %q, %v", u, err)
	}
	assertNoTemps(t, f.dir)
}

func TestTokenKeyBadSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	create := func(path string) ([]byte, error) { return createKey(path, 0o750) }
	for _, read := range []func(string) ([]byte, error){readKey, create} {
		if _, err := read(path); err == nil || errors.Is(err, errNoKey) {
			t.Errorf("got %v, want a size error", err)
		}
	}
}

func TestCreateKeyRace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.key")
	const n = 16
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := createKey(path, 0o750)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if !bytes.Equal(k, onDisk) {
			t.Errorf("goroutine %d got a key other than the one on disk", i)
		}
	}
	assertNoTemps(t, dir)
}

func TestParseTokenStrict(t *testing.T) {
	key := bytes.Repeat([]byte{1}, tokenKeySize)
	sign := func(payload string) string {
		enc := base64.RawURLEncoding
		return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(mac(key, []byte(payload)))
	}
	tests := []struct {
		name, payload string
		ok            bool
	}{
		{"valid", `{"sub":"a","exp":5,"pwf":"00"}`, true},
		{"unknown member", `{"sub":"a","exp":5,"pwf":"00","scope":"all"}`, false},
		{"missing pwf", `{"sub":"a","exp":5}`, false},
		{"missing exp", `{"sub":"a","pwf":"00"}`, false},
		{"trailing data", `{"sub":"a","exp":5,"pwf":"00"} {}`, false},
		{"not json", `sub=a`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := parseToken(key, sign(tt.payload)); ok != tt.ok {
				t.Errorf("got ok=%v, want %v", ok, tt.ok)
			}
		})
	}
}

// respellings returns the other spellings of an unpadded base64url string
// that a lenient decoder reads as the same bytes: its last character with
// other values in the bits that encode nothing.
func respellings(t *testing.T, s string) []string {
	t.Helper()
	enc := base64.RawURLEncoding
	want, err := enc.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var out []string
	for _, c := range alphabet {
		alt := s[:len(s)-1] + string(c)
		if got, err := enc.DecodeString(alt); alt != s && err == nil && bytes.Equal(got, want) {
			out = append(out, alt)
		}
	}
	return out
}

// TestBearerOneSpelling: a token is accepted as issued and in no other
// spelling: not with other unused bits in the last character of either
// part, not with a line break inside.
func TestBearerOneSpelling(t *testing.T) {
	f := tokenFixture(t)
	ctx := context.Background()
	tok := f.issue(t, "bob")
	if _, err := f.c.Check(ctx, "Bearer "+tok, ""); err != nil {
		t.Fatalf("the token as issued: %v", err)
	}
	p64, m64, _ := strings.Cut(tok, ".")
	var others []string
	for _, alt := range respellings(t, m64) {
		others = append(others, p64+"."+alt)
	}
	if len(others) == 0 {
		t.Fatalf("found no other spelling of the %d-character MAC %q", len(m64), m64)
	}
	for _, alt := range respellings(t, p64) {
		others = append(others, alt+"."+m64)
	}
	others = append(others, p64[:4]+"\n"+p64[4:]+"."+m64, p64+"."+m64[:4]+"\r"+m64[4:])
	for _, alt := range others {
		if _, err := f.c.Check(ctx, "Bearer "+alt, ""); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("token spelled %q (issued %q): got %v, want %v", alt, tok, err, ErrUnauthorized)
		}
	}
}

// TestIssueTokenMakesKeyDirectory checks that the first token makes the
// key's missing directory (with a config of only Apie's keys nothing else
// makes apie-data/, where the key is by default).
func TestIssueTokenMakesKeyDirectory(t *testing.T) {
	f := newFixture(t, Options{KeyDirMode: 0o710})
	keyDir := filepath.Join(f.dir, "apie-data")
	f.c.opts.TokenKeyPath = filepath.Join(keyDir, "token.key")
	tok := f.issue(t, "bob")
	fi, err := os.Stat(keyDir)
	if err != nil {
		t.Fatalf("the key's directory was not made: %v", err)
	}
	if fi.Mode().Perm()&^0o710 != 0 {
		t.Errorf("key directory: got mode %v, want at most rwx--x---", fi.Mode().Perm())
	}
	if u, err := f.c.Check(context.Background(), "Bearer "+tok, ""); err != nil || u.Email != "bob" {
		t.Errorf("the token does not check: got %q, %v", u, err)
	}
	assertNoTemps(t, keyDir)
}

// TestServerSideErrorsAreMarked checks that a passwd file or token key
// the checker cannot use is reported as ErrPasswdFile or ErrTokenKeyFile,
// with the cause in the same chain, never as ErrUnauthorized.
func TestServerSideErrorsAreMarked(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c, err := NewChecker(Options{PasswdPath: dir, BcryptCost: 4}) // a directory: cannot be read
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx, "Basic "+base64.StdEncoding.EncodeToString([]byte("bob:x")), ""); !errors.Is(err, ErrPasswdFile) || errors.Is(err, ErrUnauthorized) {
		t.Errorf("unreadable passwd: got %v, want ErrPasswdFile", err)
	}
	f := newFixture(t, Options{})
	notDir := filepath.Join(f.dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f.c.opts.TokenKeyPath = filepath.Join(notDir, "token.key")
	if _, _, err := f.c.IssueToken(ctx, User{Email: "bob"}); !errors.Is(err, ErrTokenKeyFile) {
		t.Errorf("key under a file: got %v, want ErrTokenKeyFile", err)
	}
	err = Update(ctx, filepath.Join(notDir, "passwd"), 0, func(*Passwd) error { return nil })
	if !errors.Is(err, ErrPasswdFile) {
		t.Errorf("update of a passwd under a file: got %v, want ErrPasswdFile", err)
	}
}
