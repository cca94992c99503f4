package eventlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"apie/event"
	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// A group commit, run by the leader holding wmu and the flock.

// groupOut collects what a group will write.
type groupOut struct {
	buf    []byte              // the records, each followed by '\n'
	ends   []int64             // their seq.idx entries
	events []newEvent          // the new events, in seq order
	byID   map[string]appended // new events by eventId, for retries within the group; nil if no request chose its ids
	// streams holds the version of each stream the group's planned
	// requests appended to, for its later requests; nil if none did.
	streams map[string]uint64
}

// newEvent is what the index inserts need of a new event.
type newEvent struct {
	seq       uint64
	hash      sum.Hash
	eventID   string
	stream    string
	streamSeq uint64
}

// keepBufMax is the largest write buffer a log keeps between groups; a
// larger one (a big batch) is left to the garbage collector.
const keepBufMax = 1 << 20

type appended struct {
	ev  event.Event
	rec []byte
}

// commitGroup plans every call of the batch against the running head,
// writes the group, and stores each call's result (res, err). It calls
// committed once the results are final and the events durable and
// counted in seq.idx, before the index inserts (see writeGroupLocked),
// unless the group wrote nothing or failed.
func (l *EventLog) commitGroup(ctx context.Context, batch []*appendCall, committed func()) {
	l.w.groups++
	if err := l.prepareLocked(ctx); err != nil {
		if durable.IsNoSpace(err) {
			err = fmt.Errorf("%w: %w", store.ErrNoSpace, err)
		}
		for _, c := range batch {
			c.err = fmt.Errorf("append: %w", err)
		}
		return
	}
	base := l.w
	head := store.Head{Seq: base.n, Hash: base.head}
	end := base.end
	now := l.now()
	drafts, clientIDs := 0, false
	for _, c := range batch {
		drafts += len(c.req.Drafts)
		for i := range c.req.Drafts {
			clientIDs = clientIDs || c.req.Drafts[i].ClientID
		}
	}
	out := groupOut{buf: l.w.buf[:0], ends: make([]int64, 0, drafts), events: make([]newEvent, 0, drafts)}
	if clientIDs {
		// Only a client-chosen eventId can name an event made earlier in
		// the same group: the server's own are fresh random UUIDs.
		out.byID = make(map[string]appended)
	}
	defer func() {
		if cap(out.buf) <= keepBufMax {
			l.w.buf = out.buf[:0]
		}
	}()
	depends := make([]bool, len(batch))
	for i, c := range batch {
		c.res, depends[i], c.err = l.plan(ctx, c.req, &head, &end, now, &out)
		var ce *store.CorruptionError
		if errors.As(c.err, &ce) && ce.Seq > 0 && l.confirmRecordLocked(ce.Seq) != nil {
			l.recordDamageLocked(ce, foundByWriter) // a lookup met a damaged record
		}
	}
	if len(out.buf) == 0 {
		return
	}
	err := l.writeGroupLocked(&out, func() {
		l.headMu.Lock()
		l.head = headCache{n: l.w.n, end: l.w.end, hash: l.w.head}
		l.headMu.Unlock()
		committed()
	})
	if err == nil {
		for s, v := range out.streams {
			l.rememberStreamVersion(s, v)
		}
	}
	if err != nil {
		for i, c := range batch {
			if depends[i] && c.err == nil {
				c.res, c.err = store.AppendResult{}, fmt.Errorf("append: %w", err)
			}
		}
	}
}

// plan judges one request against the running head: it resolves retries
// and conflicts (resolveRetries), checks the preconditions
// (checkPreconditions), and seals the new events onto out (sealFresh). It
// reports whether the result depends on this group's write.
func (l *EventLog) plan(ctx context.Context, req store.AppendRequest, head *store.Head, end *int64, now time.Time, out *groupOut) (store.AppendResult, bool, error) {
	res := newResult(len(req.Drafts))
	src, depends, err := l.resolveRetries(ctx, req, out, &res)
	if err != nil {
		return store.AppendResult{}, false, err
	}
	for i := range req.Drafts {
		if src[i] == srcFresh {
			res.Appended++
		}
	}
	if res.Appended > 0 {
		if err := checkPreconditions(req, *head); err != nil {
			return store.AppendResult{}, false, err
		}
		streamSeqs, err := l.planStreams(req, src, out)
		if err != nil {
			return store.AppendResult{}, false, err
		}
		depends = true
		if err := sealFresh(l.newSalt, req, src, streamSeqs, head, end, now, out, &res); err != nil {
			return store.AppendResult{}, false, err
		}
	}
	for i := range req.Drafts {
		if src[i] >= 0 {
			res.Events[i], res.Records[i] = res.Events[src[i]], res.Records[src[i]]
		}
	}
	return res, depends, nil
}

// Where a draft's event comes from, in resolveRetries' src: a new event,
// the stored one (a retry), or (≥ 0) the index of an earlier draft of the
// same request with the same eventId.
const (
	srcFresh  = -1
	srcStored = -2
)

// newResult returns a result for n drafts.
func newResult(n int) store.AppendResult {
	if n == 1 { // the usual request: one allocation for both slices
		one := new(struct {
			ev  [1]event.Event
			rec [1][]byte
		})
		return store.AppendResult{Events: one.ev[:], Records: one.rec[:]}
	}
	return store.AppendResult{Events: make([]event.Event, n), Records: make([][]byte, n)}
}

// resolveRetries makes appends idempotent by eventId. For each draft it
// finds whether its eventId names an earlier draft of the request, an event
// this group is about to write, or a stored event; the same eventId with
// other content is a conflict. It fills res for the retries and returns
// each draft's source (srcFresh, srcStored or an earlier draft's index) and
// whether the result depends on this group's write.
func (l *EventLog) resolveRetries(ctx context.Context, req store.AppendRequest, out *groupOut, res *store.AppendResult) (src []int, depends bool, err error) {
	n := len(req.Drafts)
	src = make([]int, n)
	var first map[string]int
	if n > 1 {
		first = make(map[string]int, n)
	}
	for i := range req.Drafts {
		d := &req.Drafts[i]
		src[i] = srcFresh
		if j, ok := first[d.EventID]; ok {
			if dj := &req.Drafts[j]; dj.EventType != d.EventType || !bytes.Equal(dj.Body, d.Body) {
				return nil, false, conflict(d.EventID)
			}
			src[i] = j
			continue
		}
		if first != nil {
			first[d.EventID] = i
		}
		if !d.ClientID {
			continue
		}
		if a, ok := out.byID[d.EventID]; ok {
			if !event.SameContent(&a.ev, d) {
				return nil, false, conflict(d.EventID)
			}
			res.Events[i], res.Records[i], src[i], depends = a.ev, a.rec, srcStored, true
			continue
		}
		key := indexKeys(sum.Hash{}, d.EventID)[1]
		_, ev, rec, err := l.find(ctx, 1, key, func(ev *event.Event) bool { return ev.EventID == d.EventID }, false)
		switch {
		case err == nil && !event.SameContent(&ev, d):
			return nil, false, conflict(d.EventID)
		case err == nil:
			res.Events[i], res.Records[i], src[i] = ev, rec, srcStored
		case !errors.Is(err, store.ErrNotFound):
			return nil, false, fmt.Errorf("append: look up eventId %s: %w", d.EventID, err)
		}
	}
	return src, depends, nil
}

// checkPreconditions checks what a request that appends something asks of
// the log before it: today If-Match, the head it expects.
func checkPreconditions(req store.AppendRequest, head store.Head) error {
	if req.IfMatch != nil && *req.IfMatch != head.Hash {
		return &store.PreconditionError{Head: head.Hash}
	}
	return nil
}

// sealFresh seals the request's new drafts (src[i] == srcFresh) onto the
// running head, in order, and adds their records to out; it advances head
// and end past them. newSalt salts each draft that has no salt yet;
// streamSeqs (nil if none) numbers the drafts of streams.
func sealFresh(newSalt func() string, req store.AppendRequest, src []int, streamSeqs []uint64, head *store.Head, end *int64, now time.Time, out *groupOut, res *store.AppendResult) error {
	for i, d := range req.Drafts {
		if src[i] != srcFresh {
			continue
		}
		if d.BodySalt == "" {
			d.BodySalt = newSalt()
		}
		if streamSeqs != nil {
			d.StreamSeq = streamSeqs[i]
		}
		ev := event.Seal(d, head.Seq+1, req.CreatedBy, now, head.Hash)
		rec := ev.Record()
		if bytes.IndexByte(rec, '\n') >= 0 {
			return fmt.Errorf("append: record of eventId %s holds a newline", d.EventID)
		}
		res.Events[i], res.Records[i] = ev, rec
		out.buf = append(append(out.buf, rec...), '\n')
		*end += int64(len(rec)) + 1
		out.ends = append(out.ends, *end)
		out.events = append(out.events, newEvent{seq: ev.Seq, hash: ev.Hash, eventID: ev.EventID, stream: ev.Stream, streamSeq: ev.StreamSeq})
		if out.byID != nil {
			out.byID[ev.EventID] = appended{ev: ev, rec: rec}
		}
		head.Seq, head.Hash = ev.Seq, ev.Hash
	}
	return nil
}

func conflict(eventID string) error {
	return fmt.Errorf("append: eventId %s is already stored with other content: %w", eventID, store.ErrConflict)
}

// writeGroupLocked makes the group durable and committed: one write of the
// records at the end of the log, fsync, a size check, one write of their
// seq.idx entries, then the index inserts. On a full disk it cuts what it
// wrote and returns store.ErrNoSpace; any other failure makes store.ErrWriteFailed
// sticky. A failed index insert is logged, not returned: the events are
// committed, and the next writer catches the index up.
//
// It calls committed between the seq.idx write and the index inserts: the
// events are durable and every reader counts them from then on (a lookup
// that misses in an index reads the few events it does not cover yet from
// the log), so the callers waiting for them can be answered while the
// inserts run.
func (l *EventLog) writeGroupLocked(out *groupOut, committed func()) error {
	files := l.files
	n0, end0 := l.w.n, l.w.end
	writeLog := l.hooks.writeLog
	if writeLog == nil {
		writeLog = (*os.File).WriteAt
	}
	syncLog := l.hooks.syncLog
	if syncLog == nil {
		syncLog = (*os.File).Sync
	}
	writeSeq := l.hooks.writeSeq
	if writeSeq == nil {
		writeSeq = (*seqIndex).appendEnds
	}

	wrote, err := writeLog(files.log, out.buf, end0)
	if err == nil && wrote != len(out.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return l.undoLocked(files, n0, end0, "write log", err)
	}
	if err := syncLog(files.log); err != nil {
		files.log.Truncate(end0) // best effort: the log refuses appends from now on anyway
		return l.stickLocked("sync log", err)
	}
	size, err := statSize(files.log)
	if err == nil && size != end0+int64(len(out.buf)) {
		err = fmt.Errorf("log is %d bytes after writing %d at %d", size, len(out.buf), end0)
	}
	if err != nil {
		return l.stickLocked("check log size", err)
	}
	if err := writeSeq(files.seq, n0, out.ends); err != nil {
		return l.undoLocked(files, n0, end0, "write seq.idx", err)
	}
	last := out.events[len(out.events)-1]
	l.w.n, l.w.end, l.w.head = last.seq, out.ends[len(out.ends)-1], last.hash
	committed()
	if l.hooks.beforeInserts != nil {
		l.hooks.beforeInserts()
	}

	for _, ev := range out.events {
		keys := indexKeys(ev.hash, ev.eventID)
		for i, x := range files.idx {
			if err := x.insert(l.w.hdr[i].slots, keys[i], ev.seq); err != nil {
				l.logger.Warn("index insert failed; the next writer catches up", "path", x.path, "seq", ev.seq, "err", err)
				return nil
			}
		}
	}
	if err := l.insertStreamsLocked(out.events); err != nil {
		l.logger.Warn("stream index insert failed; the next writer catches up", "path", l.dir, "err", err)
		return nil
	}
	if err := l.setCoveredLocked(last.seq); err != nil {
		l.logger.Warn("index header update failed; the next writer catches up", "path", l.dir, "err", err)
	}
	return nil
}

// undoLocked cuts the log (and seq.idx) back to where the group began. A
// full disk whose cut succeeded is store.ErrNoSpace and not sticky; anything else
// makes store.ErrWriteFailed sticky.
func (l *EventLog) undoLocked(files logFiles, n0 uint64, end0 int64, what string, cause error) error {
	err := files.seq.truncate(n0)
	if err == nil {
		err = files.log.Truncate(end0)
	}
	if err == nil {
		err = files.log.Sync()
	}
	if err == nil && durable.IsNoSpace(cause) {
		return fmt.Errorf("%s: %w (%w)", what, store.ErrNoSpace, cause)
	}
	if err != nil {
		cause = errors.Join(cause, fmt.Errorf("undo: %w", err))
	}
	return l.stickLocked(what, cause)
}

// stickLocked records a failed write: every later append on this log fails.
func (l *EventLog) stickLocked(what string, cause error) error {
	var err error
	if durable.IsNoSpace(cause) {
		err = fmt.Errorf("%w: %w: %s: %w", store.ErrWriteFailed, store.ErrNoSpace, what, cause)
	} else {
		err = fmt.Errorf("%w: %s: %w", store.ErrWriteFailed, what, cause)
	}
	l.w.sticky = err
	l.w.known = false
	l.logger.Error("event log write failed; appends refused until reopened", "path", l.dir, "err", cause)
	return err
}
