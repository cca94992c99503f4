package auth

import (
	"container/list"
	"sync"
	"time"
)

// Throttle defaults: after throttleLimit failures from one address within
// throttleWindow, that address is refused for throttleBackoff; at most
// throttleMaxAddrs addresses are tracked.
const (
	throttleLimit    = 5
	throttleWindow   = time.Minute
	throttleBackoff  = 30 * time.Second
	throttleMaxAddrs = 4096
)

// throttle counts failed logins per client address and refuses addresses
// that fail too often, for a short backoff, before any bcrypt is spent on
// them. A success clears the address. Memory is bounded: beyond max
// addresses the one that failed least recently is forgotten. The empty
// address (unknown client) is never throttled. It is safe for concurrent
// use.
type throttle struct {
	limit   int
	window  time.Duration
	backoff time.Duration
	max     int

	mu    sync.Mutex
	order *list.List               // of *throttleItem, least recently failed first
	items map[string]*list.Element // address -> element in order
}

type throttleItem struct {
	addr    string
	start   time.Time // when the current window of failures began
	fails   int       // failures since start
	blocked time.Time // refused until then; zero if not blocked
}

func newThrottle() *throttle {
	return &throttle{
		limit:   throttleLimit,
		window:  throttleWindow,
		backoff: throttleBackoff,
		max:     throttleMaxAddrs,
		order:   list.New(),
		items:   make(map[string]*list.Element),
	}
}

// allow reports whether addr may try to log in at now. An address whose
// backoff or window has run out is forgotten, so it starts afresh.
func (t *throttle) allow(addr string, now time.Time) bool {
	if addr == "" {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.items[addr]
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

// failure records a failed login from addr at now; the limit-th failure
// within the window blocks addr for the backoff.
func (t *throttle) failure(addr string, now time.Time) {
	if addr == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var it *throttleItem
	if el, ok := t.items[addr]; ok {
		it = el.Value.(*throttleItem)
		t.order.MoveToBack(el)
	} else {
		it = &throttleItem{addr: addr, start: now}
		t.items[addr] = t.order.PushBack(it)
	}
	if it.blocked.IsZero() && now.Sub(it.start) >= t.window {
		it.start, it.fails = now, 0
	}
	it.fails++
	if it.fails >= t.limit {
		it.blocked = now.Add(t.backoff)
	}
	for t.order.Len() > t.max {
		t.remove(t.order.Front())
	}
}

// success forgets addr's failures.
func (t *throttle) success(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.items[addr]; ok {
		t.remove(el)
	}
}

// remove drops one element; t.mu must be held.
func (t *throttle) remove(el *list.Element) {
	t.order.Remove(el)
	delete(t.items, el.Value.(*throttleItem).addr)
}

// len returns the number of addresses tracked.
func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.items)
}
