package eventlog

import "sync"

// maxCachedNames bounds nameCache: past it, names are read from the log
// each time (a listing then reads one record per stream beyond it).
const maxCachedNames = 1 << 20

// nameCache keeps the name of each stream by the seq of its first event,
// as read from the log. A committed record's stream never changes (an
// erase keeps the stream members, and the log file is never replaced
// under an open EventLog), so an entry never goes stale; an entry for a
// seq that streams.idx does not list is never asked for.
type nameCache struct {
	mu sync.RWMutex
	m  map[uint64]string
}

// get returns the name of the stream that begins at seq, if known.
func (c *nameCache) get(seq uint64) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	name, ok := c.m[seq]
	return name, ok
}

// put records that the stream name begins at seq.
func (c *nameCache) put(seq uint64, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[uint64]string)
	}
	if len(c.m) < maxCachedNames {
		c.m[seq] = name
	}
}
