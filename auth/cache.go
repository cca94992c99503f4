package auth

import (
	"container/list"
	"encoding/binary"
	"sync"
	"time"

	"apie/sum"
)

// Cache defaults.
const (
	DefaultCacheSize = 1024
	DefaultCacheTTL  = 5 * time.Minute
)

// credCache remembers credentials bcrypt has verified, so a server need not
// pay bcrypt on every request. It holds no password: entries are keyed by
// a SHA-256 of user, password and stored hash, so a changed password (a new
// stored hash) misses at once. It keeps at most size entries, dropping the
// oldest first, and each lives ttl from when it was verified. It is safe
// for concurrent use.
type credCache struct {
	size int
	ttl  time.Duration

	mu    sync.Mutex
	order *list.List                 // of *cacheItem, oldest at the front
	items map[sum.Hash]*list.Element // key -> element in order
}

type cacheItem struct {
	key     sum.Hash
	expires time.Time
}

func newCredCache(size int, ttl time.Duration) *credCache {
	return &credCache{size: size, ttl: ttl, order: list.New(), items: make(map[sum.Hash]*list.Element)}
}

// cacheKey is the SHA-256 of user, password and stored hash, each prefixed
// by its length so that no two different triples share an encoding.
func cacheKey(user, password, hash string) sum.Hash {
	h := sum.New()
	var n [8]byte
	for _, s := range [...]string{user, password, hash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return sum.FromDigest(h.Sum(nil))
}

// hit reports whether key was verified less than ttl before now. An expired
// entry is dropped.
func (c *credCache) hit(key sum.Hash, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return false
	}
	if !now.Before(el.Value.(*cacheItem).expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return false
	}
	return true
}

// add records key as verified at now, evicting the oldest entries beyond
// the size bound.
func (c *credCache) add(key sum.Hash, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.order.Remove(el)
	}
	c.items[key] = c.order.PushBack(&cacheItem{key: key, expires: now.Add(c.ttl)})
	for c.order.Len() > c.size {
		oldest := c.order.Front()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheItem).key)
	}
}

// len returns the number of entries held, expired ones included.
func (c *credCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}
