package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// pageRows is how many records one query of a Reader or of Verify fetches:
// a range is read a page at a time, never whole in memory.
const pageRows = 512

// Reader streams records first..last, each followed by '\n'. It needs
// 1 ≤ first ≤ last ≤ Head().Seq, else store.ErrNotFound.
func (l *EventLog) Reader(ctx context.Context, first, last uint64) (io.ReadCloser, error) {
	head, err := l.Head(ctx)
	if err != nil {
		return nil, err
	}
	if first < 1 || first > last || last > head.Seq {
		return nil, fmt.Errorf("read %d..%d of %d: %w", first, last, head.Seq, store.ErrNotFound)
	}
	return &reader{l: l, ctx: ctx, next: first, last: last}, nil
}

// reader reads a range of records a page at a time.
type reader struct {
	l          *EventLog
	ctx        context.Context
	next, last uint64 // the next seq to fetch, the last to send
	buf        bytes.Buffer
}

func (r *reader) Read(p []byte) (int, error) {
	for r.buf.Len() == 0 {
		if r.next > r.last {
			return 0, io.EOF
		}
		end := min(r.last, r.next+pageRows-1)
		err := r.l.page(r.ctx, r.next, end, func(seq uint64, rec []byte) error {
			r.buf.Write(rec)
			r.buf.WriteByte('\n')
			return nil
		})
		if err != nil {
			return 0, err
		}
		r.next = end + 1
	}
	return r.buf.Read(p)
}

func (r *reader) Close() error { return nil }

// page calls fn for records first..last in order; a missing one is damage.
func (l *EventLog) page(ctx context.Context, first, last uint64, fn func(seq uint64, rec []byte) error) error {
	rows, err := l.pool.Query(ctx, "SELECT seq, record FROM "+l.t.events+" WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
		int64(first), int64(last))
	if err != nil {
		return fmt.Errorf("postgres event log: read %d..%d: %w", first, last, unavailable(err))
	}
	defer rows.Close()
	want := first
	for rows.Next() {
		var seq int64
		var rec []byte
		if err := rows.Scan(&seq, &rec); err != nil {
			return fmt.Errorf("postgres event log: read %d..%d: %w", first, last, unavailable(err))
		}
		if uint64(seq) != want {
			return &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: want, Reason: "the record is missing"}
		}
		if err := fn(want, rec); err != nil {
			return err
		}
		want++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres event log: read %d..%d: %w", first, last, unavailable(err))
	}
	if want <= last {
		return &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: want, Reason: "the record is missing"}
	}
	return nil
}

// Verify reads the whole log in seq order and checks every record by the
// hash rule (an erased body only if a later apie.erased event names it),
// its link to the one before, the copies of its hash and
// eventId kept for lookups, and that the head row names the last record.
// Damage is a *store.CorruptionError. fixModes is for files: here it does
// nothing.
func (l *EventLog) Verify(ctx context.Context, fixModes bool) (store.LogReport, error) {
	return l.Scrub(ctx, 0)
}

// Scrub is Verify reading at most rate bytes of records a second (0 = no
// limit), so that apie-serve's background check leaves the database to
// its clients. PostgreSQL checks its own pages (data checksums); this
// checks apie's hash chain over them.
func (l *EventLog) Scrub(ctx context.Context, rate int64) (store.LogReport, error) {
	head, err := l.Head(ctx)
	if err != nil {
		return store.LogReport{}, err
	}
	rep := store.LogReport{Head: sum.Genesis}
	erased := &erasures{pending: map[sum.Hash]uint64{}}
	check := func(seq uint64, rec []byte) error {
		ev, isErased, err := event.VerifyErasable(rec)
		if err != nil {
			return &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: seq, Err: err}
		}
		if ev.Seq != seq || ev.PrevHash != rep.Head {
			return &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: seq,
				Reason: fmt.Sprintf("record says seq %d after %s, want seq %d after %s", ev.Seq, ev.PrevHash, seq, rep.Head)}
		}
		erased.see(&ev, isErased)
		rep.Events, rep.Head, rep.Bytes = seq, ev.Hash, rep.Bytes+int64(len(rec))+1
		return nil
	}
	start := time.Now()
	for first := uint64(1); first <= head.Seq; first += pageRows {
		if err := l.page(ctx, first, min(head.Seq, first+pageRows-1), check); err != nil {
			return rep, err
		}
		if err := pace(ctx, start, rep.Bytes, rate); err != nil {
			return rep, err
		}
	}
	if err := erased.check(l.t.events); err != nil {
		return rep, err
	}
	rep.Erased = erased.erased
	if rep.Head != head.Hash {
		return rep, &store.CorruptionError{Path: l.t.head, Offset: -1, Seq: head.Seq,
			Reason: fmt.Sprintf("the head row names %s, the last record is %s", head.Hash, rep.Head)}
	}
	if err := l.checkColumns(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// pace waits until reading n bytes since start keeps to rate bytes a
// second (0 = no limit), or ctx ends.
func pace(ctx context.Context, start time.Time, n, rate int64) error {
	if rate <= 0 {
		return nil
	}
	wait := time.Until(start.Add(time.Duration(float64(n) / float64(rate) * float64(time.Second))))
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("postgres event log: scrub: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// checkColumns checks that no row lies past the head and that every row's
// hash and event_id are its record's: Lookup trusts them.
func (l *EventLog) checkColumns(ctx context.Context) error {
	var seq int64
	err := l.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM "+l.t.events).Scan(&seq)
	if err != nil {
		return fmt.Errorf("postgres event log: verify: %w", unavailable(err))
	}
	head, err := l.Head(ctx)
	if err != nil {
		return err
	}
	if uint64(seq) > head.Seq {
		return &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: uint64(seq), Reason: fmt.Sprintf("a row past the head (seq %d)", head.Seq)}
	}
	for first := uint64(1); first <= head.Seq; first += pageRows {
		rows, err := l.pool.Query(ctx, "SELECT seq, hash, event_id, record FROM "+l.t.events+" WHERE seq BETWEEN $1 AND $2",
			int64(first), int64(min(head.Seq, first+pageRows-1)))
		if err != nil {
			return fmt.Errorf("postgres event log: verify: %w", unavailable(err))
		}
		for rows.Next() {
			var hash, rec []byte
			var id string
			if err := rows.Scan(&seq, &hash, &id, &rec); err != nil {
				rows.Close()
				return fmt.Errorf("postgres event log: verify: %w", unavailable(err))
			}
			ev, err := event.DecodeRecord(rec)
			if err == nil && (!bytes.Equal(hash, ev.Hash[:]) || id != ev.EventID) {
				rows.Close()
				return &store.CorruptionError{Path: l.t.events, Offset: -1, Seq: uint64(seq),
					Reason: "the row's hash or event_id is not its record's"}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres event log: verify: %w", unavailable(err))
		}
	}
	return nil
}
