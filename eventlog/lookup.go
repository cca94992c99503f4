package eventlog

import (
	"context"
	"errors"
	"fmt"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// lookupScanMax is the largest number of committed events not yet covered
// by an index (a writer between its seq.idx and index writes, or one that
// died there) that a lookup reads from the log itself; a larger gap is
// closed by taking the writer lock and catching the index up.
const lookupScanMax = 1024

// Lookup returns the seq of the committed event whose hash is h, or an
// error wrapping store.ErrNotFound. It reads hash.idx (a few small reads per
// index level) and the candidate record; it never scans the log.
func (l *EventLog) Lookup(ctx context.Context, h sum.Hash) (uint64, error) {
	release, err := l.use()
	if err != nil {
		return 0, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	key := indexKeys(h, "")[0]
	seq, _, _, err := l.find(ctx, 0, key, func(ev *event.Event) bool { return ev.Hash == h }, true)
	if err != nil {
		l.noteDamage(ctx, err)
		return 0, fmt.Errorf("look up event %s: %w", h, err)
	}
	return seq, nil
}

// find looks key up in index i (0 hash.idx, 1 id.idx) among the committed
// events, confirming each candidate with match; it returns the event and
// its record, or store.ErrNotFound. Events the index does not cover yet are read
// from the log if few; if many and repair is allowed, it takes the writer
// lock to catch the index up first (the writer itself passes false: it has
// caught up already, and holds the lock).
func (l *EventLog) find(ctx context.Context, i int, key sum.Hash, match func(*event.Event) bool, repair bool) (uint64, event.Event, []byte, error) {
	files := l.current()
	n, err := files.seq.count()
	if err != nil {
		return 0, event.Event{}, nil, err
	}
	x := files.idx[i]
	var trusted uint64
	hdr, herr := x.readHeader()
	if herr == nil {
		trusted = min(hdr.trusted(l.bootID), n)
		var found event.Event
		var rec []byte
		var at uint64
		ok, err := x.probe(hdr.slots, key, n, func(seq uint64) (bool, error) {
			ev, r, err := l.decodeAt(ctx, files, seq)
			if err != nil {
				return false, err
			}
			if !match(&ev) {
				return false, nil
			}
			found, rec, at = ev, r, seq
			return true, nil
		})
		if err != nil {
			return 0, event.Event{}, nil, err
		}
		if ok {
			return at, found, rec, nil
		}
	} else if !errors.Is(herr, errBadIndexHeader) {
		return 0, event.Event{}, nil, herr
	}
	if trusted >= n {
		return 0, event.Event{}, nil, store.ErrNotFound
	}
	if n-trusted > lookupScanMax && repair {
		if err := l.repair(ctx); err == nil {
			return l.find(ctx, i, key, match, false)
		} else if ctx.Err() != nil {
			return 0, event.Event{}, nil, err
		} else {
			l.logger.Warn("could not catch the index up; reading the log instead", "path", x.path, "err", err)
		}
	}
	var found event.Event
	var at uint64
	var rec []byte
	errFound := errors.New("found")
	err = forEachRecord(ctx, files, trusted+1, n, func(seq uint64, r []byte, off int64) error {
		ev, err := event.DecodeRecord(r)
		if err != nil {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq, Err: err}
		}
		if match(&ev) {
			found, at, rec = ev, seq, append([]byte(nil), r...)
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return at, found, rec, nil
	}
	if err != nil {
		return 0, event.Event{}, nil, err
	}
	return 0, event.Event{}, nil, store.ErrNotFound
}
