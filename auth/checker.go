package auth

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"apie/sum"
)

// Options configure a Checker. Zero values mean the defaults noted.
type Options struct {
	PasswdPath    string        // required
	BcryptCost    int           // for new passwords, and the fake hash while passwd has no user; default 10
	Cache         bool          // cache verified credentials (apie-serve: true; CGI: false)
	CacheSize     int           // most entries cached; default 1024
	CacheTTL      time.Duration // how long a verification is trusted; default 5m
	TokenKeyPath  string        // the token key file; "" disables bearer tokens
	TokenLifetime time.Duration // default 1h, at most 30 days
	KeyDirMode    fs.FileMode   // mode of the token key's directory if it must be made; default rwxr-x---
	Throttle      bool          // refuse basic auth that keeps failing from one address (apie-serve: true; see Check)
	Logger        *slog.Logger  // default: discard
	Now           func() time.Time

	// WatchPasswd learns of changes to the passwd file from the kernel
	// (Linux inotify) instead of a stat per check, and stats it at least
	// once every PasswdRecheck all the same (apie-serve: true). Where no
	// watch can be made, every check stats the file, as without it.
	WatchPasswd bool
}

// PasswdRecheck is how long a Checker with WatchPasswd trusts its passwd
// snapshot without a stat when the watch reports nothing: the bound on the
// delay for changes a watch cannot see, such as a symlink swapped higher
// up the path or a network file system written by another machine.
const PasswdRecheck = time.Second

// Checker authenticates Authorization header values against a passwd file.
// It re-reads the file whenever its inode, size or modification time
// changes, so edits by other processes take effect at once: without
// WatchPasswd it stats the file on every check; with it, only when the
// kernel reports a change in the file's directory (an edit, a rename over
// it, a removal; queued before that call returns, so the next check sees
// it) or PasswdRecheck has passed since the last stat. It is safe for
// concurrent use.
type Checker struct {
	opts     Options
	cache    *credCache // nil unless opts.Cache
	throttle *throttle  // nil unless opts.Throttle

	mu      sync.Mutex // guards the passwd snapshot and the watch below
	snap    *snapshot  // never mutated once stored
	pwID    fileID
	loaded  bool
	checked time.Time    // when pwID was last confirmed by a stat; zero: not trusted
	watch   *passwdWatch // nil without WatchPasswd or where none could be made

	keyMu sync.Mutex
	key   []byte // the token key, once read or made

	// testHookCompare, if set, is called before every bcrypt comparison.
	testHookCompare func(hash string)
	// testHookStat, if set, is called before every stat of the passwd file.
	testHookStat func()
}

// NewChecker validates opts and returns a Checker. It reads nothing: the
// passwd file is read at the first Check, the token key at the first need,
// so a CGI process that serves `GET /` pays for neither.
func NewChecker(opts Options) (*Checker, error) {
	if opts.PasswdPath == "" {
		return nil, errors.New("new checker: no passwd path")
	}
	cost, err := checkCost(opts.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("new checker: %w", err)
	}
	opts.BcryptCost = cost
	switch {
	case opts.CacheSize < 0:
		return nil, fmt.Errorf("new checker: negative cache size %d", opts.CacheSize)
	case opts.CacheTTL < 0:
		return nil, fmt.Errorf("new checker: negative cache TTL %s", opts.CacheTTL)
	case opts.TokenLifetime < 0 || opts.TokenLifetime > MaxTokenLifetime:
		return nil, fmt.Errorf("new checker: token lifetime %s out of range 0..%s", opts.TokenLifetime, MaxTokenLifetime)
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = DefaultTokenLifetime
	}
	if opts.KeyDirMode == 0 {
		opts.KeyDirMode = 0o750
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Checker{opts: opts}
	if opts.Cache {
		c.cache = newCredCache(opts.CacheSize, opts.CacheTTL)
	}
	if opts.Throttle {
		c.throttle = newThrottle()
	}
	if opts.WatchPasswd {
		w, err := watchPasswd(opts.PasswdPath)
		if err != nil {
			opts.Logger.Warn("cannot watch the passwd file; it is stat'ed on every check instead", "err", err)
		}
		c.watch = w
	}
	return c, nil
}

// Close stops watching the passwd file (see WatchPasswd). Checks made
// after Close stat the file every time.
func (c *Checker) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch == nil {
		return nil
	}
	err := c.watch.close()
	c.watch, c.checked = nil, time.Time{}
	if err != nil {
		return fmt.Errorf("close checker: %w", err)
	}
	return nil
}

// Check authenticates an Authorization header value, "Basic ..." or
// "Bearer ...", made by remoteAddr (the client's host, used for throttling;
// "" if unknown). It returns the user, or ErrUnauthorized for any
// credentials that do not authenticate (the same error, in about the same
// time, whether or not the user exists), or ErrThrottled if the request
// was refused unchecked for failing too often lately. Any other error is a
// fault on the server's side, such as an unreadable passwd file.
//
// With Options.Throttle, only basic auth is throttled: a bearer token
// cannot be guessed and costs no bcrypt, so it is always checked and its
// failures are not counted, and a request without credentials (how a
// browser asks for the login prompt) is neither. A failed basic login
// counts against the pair (remoteAddr, user) and against remoteAddr; an
// Authorization value that is neither Basic user:password nor a Bearer
// token counts as user "". The pair is refused after throttleUserLimit (5)
// failures within throttleWindow (a minute), the whole address after
// throttleAddrLimit (50), each for ThrottleBackoff (30 seconds); a success
// clears its pair only. So one user's wrong passwords never lock out
// another user behind the same address, until that address as a whole
// fails often enough to look like a guessing run.
func (c *Checker) Check(ctx context.Context, authorization, remoteAddr string) (User, error) {
	if err := ctx.Err(); err != nil {
		return User{}, fmt.Errorf("check credentials: %w", err)
	}
	cred, ok := parseAuthorization(authorization)
	if ok && cred.scheme == schemeBearer {
		return c.checkBearer(cred.token)
	}
	if c.throttle == nil || authorization == "" {
		return c.checkBasic(cred, ok)
	}
	if !c.throttle.allow(remoteAddr, cred.user, c.opts.Now()) {
		return User{}, ErrThrottled
	}
	u, err := c.checkBasic(cred, ok)
	switch {
	case err == nil:
		c.throttle.success(remoteAddr, cred.user)
	case errors.Is(err, ErrUnauthorized):
		c.throttle.failure(remoteAddr, cred.user, c.opts.Now())
	}
	return u, err
}

// checkBasic checks a user and password (parsed false: a malformed header):
// from the cache if allowed, else with bcrypt; an unknown user costs one
// bcrypt comparison all the same, against a fake hash of the cost most of
// the passwd file's hashes have.
func (c *Checker) checkBasic(cred credentials, parsed bool) (User, error) {
	if !parsed {
		return User{}, ErrUnauthorized
	}
	s, err := c.passwd()
	if err != nil {
		return User{}, err
	}
	user, password := cred.user, cred.password
	e, known := s.pw.Lookup(user)
	if !known {
		_, _ = c.compare(s.fake, password)
		return User{}, ErrUnauthorized
	}
	var key sum.Hash
	if c.cache != nil {
		key = cacheKey(user, password, e.Hash)
		if c.cache.hit(key, c.opts.Now()) {
			return User{Email: e.Email, Info: e.Info}, nil
		}
	}
	ok, err := c.compare(e.Hash, password)
	if err != nil {
		c.opts.Logger.Error("auth: stored password hash is unusable; login refused",
			"user", user, "passwd", c.opts.PasswdPath, "err", err)
		return User{}, ErrUnauthorized
	}
	if !ok {
		return User{}, ErrUnauthorized
	}
	if c.cache != nil {
		c.cache.add(key, c.opts.Now())
	}
	return User{Email: e.Email, Info: e.Info}, nil
}

// checkBearer checks a token: its MAC, its expiry, and that its user still
// exists with the password it had when the token was issued.
func (c *Checker) checkBearer(token string) (User, error) {
	if c.opts.TokenKeyPath == "" {
		return User{}, ErrUnauthorized
	}
	s, err := c.passwd()
	if err != nil {
		return User{}, err
	}
	key, err := c.tokenKey(false)
	if errors.Is(err, errNoKey) {
		return User{}, ErrUnauthorized // no key yet, so no token was ever issued
	}
	if err != nil {
		return User{}, fmt.Errorf("check token: %w", err)
	}
	p, ok := parseToken(key, token)
	if !ok || c.opts.Now().Unix() >= p.Exp {
		return User{}, ErrUnauthorized
	}
	e, known := s.pw.Lookup(p.Sub)
	if !known || !hmac.Equal([]byte(fingerprint(e.Hash)), []byte(p.Pwf)) {
		return User{}, ErrUnauthorized
	}
	return User{Email: e.Email, Info: e.Info}, nil
}

// IssueToken returns a bearer token for u, valid until expires (the
// configured lifetime from now, to the second) or until u is removed or
// changes password, whichever comes first. u must exist in the passwd file
// (else ErrNoUser); the caller should have authenticated u. The token key
// file is created on first use. ErrNoTokens if tokens are not configured.
func (c *Checker) IssueToken(ctx context.Context, u User) (token string, expires time.Time, err error) {
	if c.opts.TokenKeyPath == "" {
		return "", time.Time{}, ErrNoTokens
	}
	if err := ctx.Err(); err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	s, err := c.passwd()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	e, ok := s.pw.Lookup(u.Email)
	if !ok {
		return "", time.Time{}, fmt.Errorf("issue token for %q: %w", u.Email, ErrNoUser)
	}
	key, err := c.tokenKey(true)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	exp := c.opts.Now().Add(c.opts.TokenLifetime).Unix()
	token, err = signToken(key, tokenPayload{Sub: e.Email, Exp: exp, Pwf: fingerprint(e.Hash)})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	return token, time.Unix(exp, 0), nil
}

// compare is the one place bcrypt runs for a check.
func (c *Checker) compare(hash, password string) (bool, error) {
	if c.testHookCompare != nil {
		c.testHookCompare(hash)
	}
	return compare(hash, password)
}

// snapshot is one reading of the passwd file.
type snapshot struct {
	pw   *Passwd
	fake string // the hash unknown users are compared against (see fakeCost)
}

// passwd returns the current passwd snapshot, re-reading the file if it
// changed since the last read (or was never read).
func (c *Checker) passwd() (*snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opts.Now()
	if c.watch != nil && !c.checked.IsZero() {
		// The watch is drained before the stat below, so a change made after
		// this point queues a new event for the next check.
		if age := now.Sub(c.checked); age >= 0 && age < PasswdRecheck && !c.watch.changed() {
			return c.snap, nil
		}
	}
	c.checked = time.Time{} // trusted again only once a stat succeeds
	if c.testHookStat != nil {
		c.testHookStat()
	}
	id, err := statID(c.opts.PasswdPath)
	if err != nil {
		return nil, fmt.Errorf("check credentials: %w: %w", ErrPasswdFile, err)
	}
	if c.loaded && id == c.pwID {
		c.checked = now
		return c.snap, nil
	}
	pw, id, err := readPasswdStat(c.opts.PasswdPath)
	if err != nil {
		return nil, fmt.Errorf("check credentials: %w: %w", ErrPasswdFile, err)
	}
	if !id.exists {
		c.opts.Logger.Warn("passwd file is missing: nobody can log in", "path", c.opts.PasswdPath)
	}
	s := &snapshot{pw: pw, fake: fakeHash(fakeCost(pw, c.opts.BcryptCost))}
	c.snap, c.pwID, c.loaded, c.checked = s, id, true, now
	return s, nil
}

// tokenKey returns the token key, reading it (or, if create, making it)
// the first time.
func (c *Checker) tokenKey(create bool) ([]byte, error) {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if c.key != nil {
		return c.key, nil
	}
	read := readKey
	if create {
		read = func(path string) ([]byte, error) { return createKey(path, c.opts.KeyDirMode) }
	}
	key, err := read(c.opts.TokenKeyPath)
	if errors.Is(err, errNoKey) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenKeyFile, err)
	}
	c.key = key
	return key, nil
}
