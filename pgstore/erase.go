package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Erasure: an erase is one transaction under the head row's lock. It
// appends the apie.erased tombstone (event.TombstoneDraft, as the file log
// builds it) and rewrites the erased event's record to its erased form
// (event.Erase: body null, no bodySalt, every other member kept) and
// counts itself in head.erasures, so that readers see both or neither.
// The file log pads an erased record with spaces to keep its length in
// place; a row needs no padding, so the stored bytes differ from the file
// log's only in those trailing spaces.

var _ store.Eraser = (*EventLog)(nil)

// Erase implements store.Eraser.
func (l *EventLog) Erase(ctx context.Context, h sum.Hash, reason, createdBy string) (store.AppendResult, error) {
	ctx, cancel := context.WithTimeout(ctx, l.txTimeout)
	defer cancel()
	var res store.AppendResult
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		var err error
		res, err = l.eraseTx(ctx, tx, h, reason, createdBy)
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrNotErasable) || errors.Is(err, store.ErrCorrupt) {
			return store.AppendResult{}, fmt.Errorf("erase %s: %w", h, err)
		}
		return store.AppendResult{}, fmt.Errorf("postgres event log: erase %s: %w", h, unavailable(err))
	}
	return res, nil
}

// eraseTx erases h within tx: it locks the head, finds the event, returns
// its tombstone if it is erased already, else appends the tombstone and
// rewrites the record.
func (l *EventLog) eraseTx(ctx context.Context, tx pgx.Tx, h sum.Hash, reason, createdBy string) (store.AppendResult, error) {
	var headSeq int64
	var headHash []byte
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM "+l.t.head+" FOR UPDATE").Scan(&headSeq, &headHash); err != nil {
		return store.AppendResult{}, fmt.Errorf("lock the head: %w", err)
	}
	head, err := toHead(headSeq, headHash)
	if err != nil {
		return store.AppendResult{}, err
	}
	var seq int64
	var rec []byte
	err = tx.QueryRow(ctx, "SELECT seq, record FROM "+l.t.events+" WHERE hash = $1", h[:]).Scan(&seq, &rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.AppendResult{}, store.ErrNotFound
	}
	if err != nil {
		return store.AppendResult{}, fmt.Errorf("find the event: %w", err)
	}
	ev, err := event.DecodeRecord(rec)
	if err != nil {
		return store.AppendResult{}, &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: uint64(seq), Err: err}
	}
	if ev.EventType == event.ErasedType {
		return store.AppendResult{}, fmt.Errorf("event %d is an apie.erased event: %w", seq, store.ErrNotErasable)
	}
	draft := event.TombstoneDraft(h, uint64(seq), reason)
	var trec []byte
	err = tx.QueryRow(ctx, "SELECT record FROM "+l.t.events+" WHERE event_id = $1", draft.EventID).Scan(&trec)
	switch {
	case err == nil:
		tev, err := event.DecodeRecord(trec)
		if err != nil {
			return store.AppendResult{}, &store.CorruptionError{Path: l.t.events, Offset: -1, Err: err}
		}
		if tev.EventType == event.ErasedType { // erased already: the same tombstone, nothing changes
			return store.AppendResult{Events: []event.Event{tev}, Records: [][]byte{trec}}, nil
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return store.AppendResult{}, fmt.Errorf("look for the tombstone: %w", err)
	}
	req := store.AppendRequest{Drafts: []event.Draft{draft}, CreatedBy: createdBy}
	res, fresh, err := l.plan(ctx, tx, req, head, l.now(), &groupState{earlier: map[string]storedEvent{}, streams: map[string]uint64{}})
	if err != nil {
		return store.AppendResult{}, err
	}
	if len(fresh) != 1 { // the tombstone's eventId is taken by another event
		return store.AppendResult{}, fmt.Errorf("the tombstone's eventId %s is taken: %w", draft.EventID, store.ErrConflict)
	}
	if err := l.insert(ctx, tx, fresh); err != nil {
		return store.AppendResult{}, err
	}
	erased := event.Erase(ev)
	if _, err := tx.Exec(ctx, "UPDATE "+l.t.events+" SET record = $1 WHERE seq = $2", erased.Record(), seq); err != nil {
		return store.AppendResult{}, fmt.Errorf("rewrite record %d: %w", seq, err)
	}
	if _, err := tx.Exec(ctx, "UPDATE "+l.t.head+" SET erasures = erasures + 1"); err != nil {
		return store.AppendResult{}, fmt.Errorf("count the erase: %w", err)
	}
	return res, nil
}

// Erasures implements store.Eraser: the erases committed so far.
func (l *EventLog) Erasures(ctx context.Context) (uint64, error) {
	var n int64
	if err := l.pool.QueryRow(ctx, "SELECT erasures FROM "+l.t.head).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres event log: read the erase count: %w", unavailable(err))
	}
	return uint64(n), nil
}

// erasures checks, during Verify's scan of the log in order, that every
// body that looks erased is named by a later apie.erased event (its hash
// and seq), as the file log's Verify does.
type erasures struct {
	pending map[sum.Hash]uint64 // erased bodies not yet named, by hash: their seqs
	erased  uint64              // erased bodies named by a tombstone
}

// see notes ev, whose body looks erased if erased.
func (e *erasures) see(ev *event.Event, erased bool) {
	if erased {
		e.pending[ev.Hash] = ev.Seq
		return
	}
	t, ok := event.ParseTombstone(ev)
	if !ok {
		return
	}
	if seq, ok := e.pending[t.Erased]; ok && seq == t.Seq {
		delete(e.pending, t.Erased)
		e.erased++
	}
}

// check returns damage at the first erased body no tombstone named.
func (e *erasures) check(path string) error {
	var first uint64
	for _, seq := range e.pending {
		if first == 0 || seq < first {
			first = seq
		}
	}
	if first == 0 {
		return nil
	}
	return &store.CorruptionError{Path: path, Offset: -1, Seq: first,
		Reason: "body is null and does not match bodyHash, and no later apie.erased event names it"}
}
