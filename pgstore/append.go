package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"apie/event"
	"apie/store"
)

// Append appends the drafts atomically and returns once PostgreSQL has
// committed them. A draft whose client-chosen eventId is stored with the
// same eventType and body is a retry (the stored event is returned);
// other content under that eventId wraps store.ErrConflict. If anything
// new remains, an IfMatch other than the head is a
// *store.PreconditionError, and a draft's expectedVersion other than its
// stream's version a *store.StreamVersionError. Appends from every process that shares the
// database form one chain.
//
// Group commit: the appends that arrive while a transaction runs wait for
// it, and then go together in the next one, each judged in turn against
// the head the ones before it left (see committer). Each is acknowledged
// only after the COMMIT that holds it. When that COMMIT fails, its outcome
// is unknown to this process (PostgreSQL may have committed before the
// connection broke): the error (store.ErrUnavailable) says so and nothing
// is acknowledged. A retry with the same client-chosen eventIds then
// finds the events if they were committed and returns them, so it is safe.
func (l *EventLog) Append(ctx context.Context, req store.AppendRequest) (store.AppendResult, error) {
	if len(req.Drafts) == 0 {
		return store.AppendResult{}, errors.New("append: no events")
	}
	c := &call{ctx: ctx, req: req, done: make(chan struct{})}
	if l.calls == nil {
		l.commit(ctx, []*call{c})
	} else {
		select {
		case l.calls <- c:
		case <-l.quit:
			return store.AppendResult{}, fmt.Errorf("postgres event log: append: %w", store.ErrClosed)
		case <-ctx.Done():
			return store.AppendResult{}, fmt.Errorf("postgres event log: append: %w", ctx.Err())
		}
		select {
		case <-c.done:
		case <-ctx.Done(): // the caller is gone: the append may still be committed, unacknowledged
			return store.AppendResult{}, fmt.Errorf("postgres event log: append: %w", ctx.Err())
		}
	}
	if c.err != nil {
		if refused(c.err) || errors.Is(c.err, store.ErrCorrupt) {
			return store.AppendResult{}, c.err
		}
		return store.AppendResult{}, fmt.Errorf("postgres event log: %w", unavailable(c.err))
	}
	return c.res, nil
}

// call is one Append waiting for its transaction.
type call struct {
	ctx  context.Context
	req  store.AppendRequest
	res  store.AppendResult
	err  error
	done chan struct{} // closed once res or err is set
}

// maxGroup bounds how many appends one transaction carries.
const maxGroup = 256

// committer runs the transactions of group commit, one at a time, each
// within Options.TxTimeout, until quit is closed: it takes the first waiting append and every other one
// already waiting (up to maxGroup), and commits them together.
func (l *EventLog) committer(ctx context.Context) {
	defer close(l.stopped)
	for {
		var group []*call
		select {
		case c := <-l.calls:
			group = append(group, c)
		case <-l.quit:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case c := <-l.calls:
				group = append(group, c)
			default:
				break more
			}
		}
		tctx, cancel := context.WithTimeout(ctx, l.txTimeout)
		l.commit(tctx, group)
		cancel()
	}
}

// commit runs one transaction for group and sets each call's outcome. An
// append that is refused (conflict, If-Match) fails alone; a failure of
// the transaction fails every append in it.
func (l *EventLog) commit(ctx context.Context, group []*call) {
	defer func() {
		for _, c := range group {
			close(c.done)
		}
	}()
	var live []*call
	for _, c := range group {
		if err := c.ctx.Err(); err != nil {
			c.err = fmt.Errorf("append: %w", err)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	if err := l.commitTx(ctx, live); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// The transaction's time ran out: PostgreSQL did not answer
			// (a partition, a stalled server). Nothing is acknowledged.
			err = &unavailableError{err}
		}
		for _, c := range live {
			if c.err == nil {
				c.err, c.res = err, store.AppendResult{}
			}
		}
	}
}

// commitTx plans every call of group against the head, under the head
// row's lock, inserts what is new and commits. A call refused by its
// plan gets its error; the error returned is the transaction's.
func (l *EventLog) commitTx(ctx context.Context, group []*call) error {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("append: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	var seq int64
	var hash []byte
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM "+l.t.head+" FOR UPDATE").Scan(&seq, &hash); err != nil {
		return fmt.Errorf("append: lock the head: %w", err)
	}
	head, err := toHead(seq, hash)
	if err != nil {
		return err
	}
	now := l.now()
	var fresh []event.Event
	g := &groupState{
		earlier: map[string]storedEvent{},
		streams: map[string]uint64{},
	}
	for _, c := range group {
		res, add, err := l.plan(ctx, tx, c.req, head, now, g)
		if err != nil {
			if refused(err) {
				c.err = err
				continue
			}
			return err
		}
		c.res = res
		for _, ev := range add {
			g.earlier[ev.EventID] = storedEvent{ev: ev, rec: ev.Record()}
			if ev.Stream != "" {
				g.streams[ev.Stream] = ev.StreamSeq
			}
		}
		fresh = append(fresh, add...)
		if len(add) > 0 {
			last := add[len(add)-1]
			head = store.Head{Seq: last.Seq, Hash: last.Hash}
		}
	}
	if len(fresh) > 0 {
		if err := l.insert(ctx, tx, fresh); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("append: COMMIT's outcome is unknown, so nothing is acknowledged: %w", err)
	}
	return nil
}

// groupState is what a transaction's earlier appends left for its later
// ones: their new events by eventId, and the versions of the streams they
// wrote.
type groupState struct {
	earlier map[string]storedEvent
	streams map[string]uint64
}

// refused reports whether err refuses one append (its caller's fault)
// rather than failing the transaction.
func refused(err error) bool {
	var pe *store.PreconditionError
	return errors.As(err, &pe) || errors.Is(err, store.ErrPrecondition) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnsupported)
}

// Where a draft's event comes from: a new event, the stored one (a
// retry), or (≥ 0) the index of an earlier draft of the same request with
// the same eventId.
const (
	srcFresh  = -1
	srcStored = -2
)

// plan judges the request against head, under the head's lock: it
// resolves retries (against the stored events and earlier, the events of
// the same transaction) and conflicts, checks If-Match when something new
// remains, checks each expectedVersion (planStreams), and seals the new
// events. It returns the result and the new events.
func (l *EventLog) plan(ctx context.Context, tx pgx.Tx, req store.AppendRequest, head store.Head, now time.Time, g *groupState) (store.AppendResult, []event.Event, error) {
	n := len(req.Drafts)
	res := store.AppendResult{Events: make([]event.Event, n), Records: make([][]byte, n)}
	stored, err := l.storedByID(ctx, tx, req.Drafts)
	if err != nil {
		return res, nil, err
	}
	for _, d := range req.Drafts {
		if e, ok := g.earlier[d.EventID]; ok && d.ClientID {
			if stored == nil {
				stored = map[string]storedEvent{}
			}
			stored[d.EventID] = e
		}
	}
	src := make([]int, n)
	first := make(map[string]int, n)
	for i := range req.Drafts {
		d := &req.Drafts[i]
		src[i] = srcFresh
		if j, ok := first[d.EventID]; ok {
			if dj := &req.Drafts[j]; dj.EventType != d.EventType || !bytes.Equal(dj.Body, d.Body) {
				return res, nil, conflict(d.EventID)
			}
			src[i] = j
			continue
		}
		first[d.EventID] = i
		if s, ok := stored[d.EventID]; ok && d.ClientID {
			if !event.SameContent(&s.ev, d) {
				return res, nil, conflict(d.EventID)
			}
			res.Events[i], res.Records[i], src[i] = s.ev, s.rec, srcStored
		}
	}
	if slices.Contains(src, srcFresh) {
		if req.IfMatch != nil && *req.IfMatch != head.Hash {
			return res, nil, &store.PreconditionError{Head: head.Hash}
		}
	}
	streamSeqs, err := l.planStreams(ctx, tx, req, src, g)
	if err != nil {
		return res, nil, err
	}
	var fresh []event.Event
	for i := range req.Drafts {
		if src[i] != srcFresh {
			continue
		}
		d := req.Drafts[i]
		if d.BodySalt == "" { // salted as on files, so that the body can be erased
			d.BodySalt = event.NewSalt()
		}
		if d.Stream != "" {
			d.StreamSeq = streamSeqs[i]
		}
		ev := event.Seal(d, head.Seq+1, req.CreatedBy, now, head.Hash)
		rec := ev.Record()
		if bytes.IndexByte(rec, '\n') >= 0 {
			return res, nil, fmt.Errorf("append: record of eventId %s holds a newline", ev.EventID)
		}
		res.Events[i], res.Records[i] = ev, rec
		fresh = append(fresh, ev)
		head = store.Head{Seq: ev.Seq, Hash: ev.Hash}
		res.Appended++
	}
	for i := range req.Drafts {
		if src[i] >= 0 {
			res.Events[i], res.Records[i] = res.Events[src[i]], res.Records[src[i]]
		}
	}
	return res, fresh, nil
}

// planStreams returns the streamSeq of each new draft of req (0 outside
// a stream), checking every expectedVersion against the stream's version
// just before that draft: as the committed rows, the transaction's
// earlier appends (g) and the request's own earlier new events leave it.
// The head row's lock keeps every other writer out meanwhile. A mismatch
// is a *store.StreamVersionError.
func (l *EventLog) planStreams(ctx context.Context, tx pgx.Tx, req store.AppendRequest, src []int, g *groupState) ([]uint64, error) {
	var seqs []uint64
	mine := map[string]uint64{} // this request's streams: version after its events so far
	for i := range req.Drafts {
		d := &req.Drafts[i]
		if src[i] != srcFresh || d.Stream == "" {
			continue
		}
		if seqs == nil {
			seqs = make([]uint64, len(req.Drafts))
		}
		cur, ok := mine[d.Stream]
		if !ok {
			if cur, ok = g.streams[d.Stream]; !ok {
				var v int64
				err := tx.QueryRow(ctx, "SELECT coalesce((SELECT version FROM "+l.t.streams+" WHERE name = $1), 0)", d.Stream).Scan(&v)
				if err != nil {
					return nil, fmt.Errorf("append: version of stream %s: %w", d.Stream, err)
				}
				cur = uint64(v)
			}
		}
		if d.HasExpected && d.ExpectedVersion != cur {
			return nil, &store.StreamVersionError{Stream: d.Stream, Expected: d.ExpectedVersion, Current: cur}
		}
		seqs[i] = cur + 1
		mine[d.Stream] = cur + 1
	}
	return seqs, nil
}

// storedEvent is an event found by its eventId.
type storedEvent struct {
	ev  event.Event
	rec []byte
}

// storedByID returns the stored events whose eventIds the request's
// client-chosen ones name.
func (l *EventLog) storedByID(ctx context.Context, tx pgx.Tx, drafts []event.Draft) (map[string]storedEvent, error) {
	var ids []string
	for _, d := range drafts {
		if d.ClientID {
			ids = append(ids, d.EventID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, "SELECT seq, record FROM "+l.t.events+" WHERE event_id = ANY($1)", ids)
	if err != nil {
		return nil, fmt.Errorf("append: look up eventIds: %w", err)
	}
	defer rows.Close()
	found := make(map[string]storedEvent)
	for rows.Next() {
		var seq int64
		var rec []byte
		if err := rows.Scan(&seq, &rec); err != nil {
			return nil, fmt.Errorf("append: look up eventIds: %w", err)
		}
		ev, err := event.DecodeRecord(rec)
		if err != nil {
			return nil, &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: uint64(seq), Err: err}
		}
		found[ev.EventID] = storedEvent{ev: ev, rec: rec}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("append: look up eventIds: %w", err)
	}
	return found, nil
}

// insert stores the new events and moves the head to the last of them.
func (l *EventLog) insert(ctx context.Context, tx pgx.Tx, fresh []event.Event) error {
	seqs := make([]int64, len(fresh))
	hashes := make([][]byte, len(fresh))
	ids := make([]string, len(fresh))
	recs := make([][]byte, len(fresh))
	streams := make([]*string, len(fresh))
	streamSeqs := make([]*int64, len(fresh))
	for i := range fresh {
		ev := &fresh[i]
		seqs[i], hashes[i], ids[i], recs[i] = int64(ev.Seq), ev.Hash[:], ev.EventID, ev.Record()
		if ev.Stream != "" {
			ss := int64(ev.StreamSeq)
			streams[i], streamSeqs[i] = &ev.Stream, &ss
		}
	}
	_, err := tx.Exec(ctx, "INSERT INTO "+l.t.events+" (seq, hash, event_id, record, stream, stream_seq) "+
		"SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[], $4::bytea[], $5::text[], $6::bigint[])",
		seqs, hashes, ids, recs, streams, streamSeqs)
	if err != nil {
		return fmt.Errorf("append: insert %d events: %w", len(fresh), err)
	}
	if err := l.updateStreams(ctx, tx, fresh); err != nil {
		return err
	}
	last := fresh[len(fresh)-1]
	if _, err := tx.Exec(ctx, "UPDATE "+l.t.head+" SET seq = $1, hash = $2", int64(last.Seq), last.Hash[:]); err != nil {
		return fmt.Errorf("append: move the head: %w", err)
	}
	return nil
}

func conflict(eventID string) error {
	return fmt.Errorf("append: eventId %s is already stored with other content: %w", eventID, store.ErrConflict)
}

// updateStreams sums the new events up into the streams table: a new
// stream's row takes its first and last events, a known one's its last.
func (l *EventLog) updateStreams(ctx context.Context, tx pgx.Tx, fresh []event.Event) error {
	type span struct{ first, last *event.Event }
	spans := map[string]*span{}
	var order []string
	for i := range fresh {
		ev := &fresh[i]
		if ev.Stream == "" {
			continue
		}
		sp, ok := spans[ev.Stream]
		if !ok {
			sp = &span{first: ev}
			spans[ev.Stream] = sp
			order = append(order, ev.Stream)
		}
		sp.last = ev
	}
	if len(order) == 0 {
		return nil
	}
	n := len(order)
	versions, firstSeqs, lastSeqs := make([]int64, n), make([]int64, n), make([]int64, n)
	firstHashes, lastHashes := make([][]byte, n), make([][]byte, n)
	for i, name := range order {
		sp := spans[name]
		versions[i] = int64(sp.last.StreamSeq)
		firstSeqs[i], firstHashes[i] = int64(sp.first.Seq), sp.first.Hash[:]
		lastSeqs[i], lastHashes[i] = int64(sp.last.Seq), sp.last.Hash[:]
	}
	_, err := tx.Exec(ctx, "INSERT INTO "+l.t.streams+" AS s (name, version, first_seq, first_hash, last_seq, last_hash) "+
		"SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bytea[], $5::bigint[], $6::bytea[]) "+
		"ON CONFLICT (name) DO UPDATE SET version = excluded.version, last_seq = excluded.last_seq, last_hash = excluded.last_hash",
		order, versions, firstSeqs, firstHashes, lastSeqs, lastHashes)
	if err != nil {
		return fmt.Errorf("append: update %d streams: %w", n, err)
	}
	return nil
}
