package auth

import (
	"container/list"
	"sync"
	"time"
)

// Throttle settings. Within throttleWindow, throttleUserLimit failed basic
// logins from one address as one user refuse that (address, user) pair,
// and throttleAddrLimit failures from one address as anyone refuse the
// whole address, each for ThrottleBackoff. At most throttleMaxKeys pairs
// and addresses are tracked in all. ThrottleBackoff is exported for the
// Retry-After header of the refusal.
const (
	throttleUserLimit = 5
	throttleAddrLimit = 50
	throttleWindow    = time.Minute
	ThrottleBackoff   = 30 * time.Second
	throttleMaxKeys   = 4096
)

// maxThrottleUser bounds the user name kept in a key: longer names cannot
// be users (see maxEmailLen), so they may share one key, and a flood of
// huge names costs no more memory than one of short ones.
const maxThrottleUser = maxEmailLen + 1

// throttle counts failed logins per (address, user) and per address, and
// refuses a pair or an address that fails too often, for a short backoff,
// before any bcrypt is spent on it. A success clears its pair, never the
// address: logging in as oneself must not reset a guessing run at other
// users. Memory is bounded: beyond max keys the one that failed least
// recently is forgotten. The empty address (unknown client) is never
// throttled. It is safe for concurrent use.
type throttle struct {
	userLimit int
	addrLimit int
	window    time.Duration
	backoff   time.Duration
	max       int

	mu    sync.Mutex
	order *list.List                    // of *throttleItem, least recently failed first
	items map[throttleKey]*list.Element // key -> element in order
}

// throttleKey names what failures are counted against: a pair (address,
// user), or with whole set the address itself.
type throttleKey struct {
	addr  string
	user  string
	whole bool
}

type throttleItem struct {
	key     throttleKey
	limit   int
	start   time.Time // when the current window of failures began
	fails   int       // failures since start
	blocked time.Time // refused until then; zero if not blocked
}

func newThrottle() *throttle {
	return &throttle{
		userLimit: throttleUserLimit,
		addrLimit: throttleAddrLimit,
		window:    throttleWindow,
		backoff:   ThrottleBackoff,
		max:       throttleMaxKeys,
		order:     list.New(),
		items:     make(map[throttleKey]*list.Element),
	}
}

// keys returns the pair and the address key for a login attempt.
func keys(addr, user string) (pair, whole throttleKey) {
	if len(user) > maxThrottleUser {
		user = user[:maxThrottleUser]
	}
	return throttleKey{addr: addr, user: user}, throttleKey{addr: addr, whole: true}
}

// allow reports whether user may try to log in from addr at now: neither
// the pair nor the address is refused. A key whose backoff or window has
// run out is forgotten, so it starts afresh.
func (t *throttle) allow(addr, user string, now time.Time) bool {
	if addr == "" {
		return true
	}
	pair, whole := keys(addr, user)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.allowKey(whole, now) && t.allowKey(pair, now)
}

// allowKey is allow for one key; t.mu must be held.
func (t *throttle) allowKey(k throttleKey, now time.Time) bool {
	el, ok := t.items[k]
	if !ok {
		return true
	}
	it := el.Value.(*throttleItem)
	if now.Before(it.blocked) {
		return false
	}
	if !it.blocked.IsZero() || now.Sub(it.start) >= t.window {
		t.remove(el)
	}
	return true
}

// failure records a failed login as user from addr at now, against the
// pair and the address; the limit-th failure within the window refuses
// the key for the backoff.
func (t *throttle) failure(addr, user string, now time.Time) {
	if addr == "" {
		return
	}
	pair, whole := keys(addr, user)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fail(whole, t.addrLimit, now)
	t.fail(pair, t.userLimit, now)
	for t.order.Len() > t.max {
		t.remove(t.order.Front())
	}
}

// fail counts one failure against k; t.mu must be held.
func (t *throttle) fail(k throttleKey, limit int, now time.Time) {
	var it *throttleItem
	if el, ok := t.items[k]; ok {
		it = el.Value.(*throttleItem)
		t.order.MoveToBack(el)
	} else {
		it = &throttleItem{key: k, limit: limit, start: now}
		t.items[k] = t.order.PushBack(it)
	}
	if it.blocked.IsZero() && now.Sub(it.start) >= t.window {
		it.start, it.fails = now, 0
	}
	it.fails++
	if it.fails >= it.limit {
		it.blocked = now.Add(t.backoff)
	}
}

// success forgets the failures of user from addr (not the address's).
func (t *throttle) success(addr, user string) {
	pair, _ := keys(addr, user)
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.items[pair]; ok {
		t.remove(el)
	}
}

// remove drops one element; t.mu must be held.
func (t *throttle) remove(el *list.Element) {
	t.order.Remove(el)
	delete(t.items, el.Value.(*throttleItem).key)
}

// len returns the number of keys tracked.
func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.items)
}
