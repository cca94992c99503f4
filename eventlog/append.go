package eventlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"apie/store"
)

// Limits of one group commit; a request is never split, so a group holds at
// least one request whatever its size.
const (
	groupMaxDrafts = 16384
	groupMaxBytes  = 64 << 20
)

// commitQueue batches concurrent Append calls of one process (group
// commit) without a goroutine of its own: the first caller becomes the
// leader, takes the writer lock, drains the queue, writes every record in
// one write and fsyncs once, wakes the others with their results as soon
// as the group is committed (before the index inserts), and, when done,
// hands leadership to the next waiting caller, if any.
type commitQueue struct {
	mu      sync.Mutex
	pending []*appendCall
	leading bool // a leader is active (or promoted and about to be)
}

// appendCall is one Append waiting in the queue. Its fields are guarded by
// the queue's mutex, except req and ctx which never change.
type appendCall struct {
	ctx  context.Context
	req  store.AppendRequest
	wake chan struct{} // buffered(1): "you lead" or "you are done"
	lead bool
	done bool
	res  store.AppendResult
	err  error
}

// Append appends the drafts atomically and returns once they are durable
// (written, fsync'd, indexed). Drafts whose client-chosen eventId is
// already stored with the same eventType and body are not appended again:
// the stored event is returned (a retry); the same eventId with other
// content is an error wrapping store.ErrConflict. If nothing new remains the
// result has Appended == 0 and IfMatch is not checked; otherwise an
// IfMatch other than the head is a *store.PreconditionError. A full disk is an
// error wrapping store.ErrNoSpace and leaves the log as it was; any other failed
// write or fsync is store.ErrWriteFailed, for this and every later Append on
// this *EventLog (sticky). Concurrent calls are committed together (one
// write, one fsync), each still atomic and judged against the head its
// predecessors in the group left; one failing request does not fail the
// others. ctx bounds the wait for the queue and the writer lock; once a
// request is being written it completes.
func (l *EventLog) Append(ctx context.Context, req store.AppendRequest) (store.AppendResult, error) {
	release, err := l.use()
	if err != nil {
		return store.AppendResult{}, err
	}
	defer release()
	if len(req.Drafts) == 0 {
		return store.AppendResult{}, errors.New("append: no events")
	}
	if err := ctx.Err(); err != nil {
		return store.AppendResult{}, err
	}
	c := &appendCall{ctx: ctx, req: req, wake: make(chan struct{}, 1)}
	q := &l.queue
	q.lock()
	q.pending = append(q.pending, c)
	if !q.leading {
		q.leading, c.lead = true, true
	}
	lead := c.lead
	q.unlock()
	for {
		if lead {
			l.lead(c)
		} else {
			select {
			case <-c.wake:
			case <-ctx.Done():
				q.lock()
				if i := slices.Index(q.pending, c); i >= 0 && !c.lead {
					q.pending = slices.Delete(q.pending, i, i+1)
					q.unlock()
					return store.AppendResult{}, fmt.Errorf("append: %w", ctx.Err())
				}
				q.unlock()
				<-c.wake // promoted, or being written: wait for it
			}
		}
		q.lock()
		done, next := c.done, c.lead && !c.done
		q.unlock()
		if done {
			return c.res, c.err
		}
		lead = next
	}
}

// lead runs one group commit with c (the head of the queue) as leader. It
// waits for the flock under c's context; once it holds it, the group is
// written whatever becomes of that context.
func (l *EventLog) lead(c *appendCall) {
	q := &l.queue
	l.wmu.Lock()
	unlock := func() {}
	var err error
	if l.w.sticky == nil { // a refusing log need not wait for the lock
		unlock, err = l.lockForGroupLocked(c.ctx)
	}
	if err != nil {
		l.wmu.Unlock()
		q.lock()
		if i := slices.Index(q.pending, c); i >= 0 {
			q.pending = slices.Delete(q.pending, i, i+1)
		}
		c.done, c.err = true, fmt.Errorf("append: %w", err)
		q.handOff()
		q.unlock()
		return
	}
	q.lock()
	batch := q.takeGroup()
	q.unlock()

	released := false
	release := func() {
		q.lock()
		for _, b := range batch {
			b.done = true
			if b != c {
				b.signal()
			}
		}
		q.unlock()
		released = true
	}
	// The group's callers are answered as soon as it is committed; the
	// leader stays for the index inserts, holding the locks.
	l.commitGroup(context.WithoutCancel(c.ctx), batch, release)

	unlock()
	l.wmu.Unlock()
	if !released {
		release()
	}
	q.lock()
	q.handOff()
	q.unlock()
}

// takeGroup removes from the queue the calls of the next group: in order,
// as many as fit the group limits, at least one.
func (q *commitQueue) takeGroup() []*appendCall {
	drafts, bytes, n := 0, 0, 0
	for _, c := range q.pending {
		size := 0
		for _, d := range c.req.Drafts {
			size += len(d.Body) + len(d.EventType) + len(d.EventID) + 512
		}
		if n > 0 && (drafts+len(c.req.Drafts) > groupMaxDrafts || bytes+size > groupMaxBytes) {
			break
		}
		drafts, bytes, n = drafts+len(c.req.Drafts), bytes+size, n+1
	}
	batch := slices.Clone(q.pending[:n])
	q.pending = slices.Delete(q.pending, 0, n)
	return batch
}

// handOff makes the first waiting call the next leader, or ends leadership.
func (q *commitQueue) handOff() {
	if len(q.pending) == 0 {
		q.leading = false
		return
	}
	next := q.pending[0]
	next.lead = true
	next.signal()
}

// signal wakes the call's goroutine without ever blocking.
func (c *appendCall) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (q *commitQueue) lock()   { q.mu.Lock() }
func (q *commitQueue) unlock() { q.mu.Unlock() }
