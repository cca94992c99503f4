package eventlog

import (
	"context"
	"fmt"
	"io"
	"os"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Reads. They take no lock, and see exactly the committed records: those
// counted by seq.idx, which is written only after the log is fsync'd.

// Head returns the committed head, fresh from disk (it sees appends made
// by other processes): {0, sum.Genesis} for an empty log.
func (l *EventLog) Head(ctx context.Context) (store.Head, error) {
	release, err := l.use()
	if err != nil {
		return store.Head{}, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return store.Head{}, err
	}
	files := l.current()
	n, err := files.seq.count()
	if err != nil {
		return store.Head{}, fmt.Errorf("event log head: %w", err)
	}
	if n == 0 {
		return store.Head{Seq: 0, Hash: sum.Genesis}, nil
	}
	_, end, err := files.seq.span(n)
	if err != nil {
		return store.Head{}, fmt.Errorf("event log head: %w", err)
	}
	l.headMu.Lock()
	c := l.head
	l.headMu.Unlock()
	if c.n == n && c.end == end {
		return store.Head{Seq: n, Hash: c.hash}, nil
	}
	ev, _, err := l.decodeAt(ctx, files, n)
	if err != nil {
		l.noteDamage(ctx, err)
		return store.Head{}, fmt.Errorf("event log head: %w", err)
	}
	l.headMu.Lock()
	l.head = headCache{n: n, end: end, hash: ev.Hash}
	l.headMu.Unlock()
	return store.Head{Seq: n, Hash: ev.Hash}, nil
}

// decodeAt reads and decodes record seq, checking that it holds that seq.
func (l *EventLog) decodeAt(ctx context.Context, files logFiles, seq uint64) (event.Event, []byte, error) {
	var rec []byte
	var start int64
	err := l.stableRead(ctx, func() (err error) {
		rec, start, err = readRecord(files, seq)
		return err
	})
	if err != nil {
		return event.Event{}, nil, err
	}
	ev, err := event.DecodeRecord(rec)
	if err == nil && ev.Seq != seq {
		err = fmt.Errorf("record holds seq %d", ev.Seq)
	}
	if err != nil {
		return event.Event{}, nil, &store.CorruptionError{Path: files.log.Name(), Offset: start, Seq: seq, Err: err}
	}
	return ev, rec, nil
}

// Record returns committed record seq: the exact stored bytes, without
// the '\n'. A seq that is not committed is store.ErrNotFound.
func (l *EventLog) Record(ctx context.Context, seq uint64) ([]byte, error) {
	release, err := l.use()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files := l.current()
	n, err := files.seq.count()
	if err != nil {
		return nil, fmt.Errorf("read record %d: %w", seq, err)
	}
	if seq == 0 || seq > n {
		return nil, fmt.Errorf("record %d of %d: %w", seq, n, store.ErrNotFound)
	}
	var rec []byte
	err = l.stableRead(ctx, func() (err error) {
		rec, _, err = readRecord(files, seq)
		return err
	})
	if err != nil {
		l.noteDamage(ctx, err)
		return nil, fmt.Errorf("read record %d: %w", seq, err)
	}
	return rec, nil
}

// Reader returns the bytes of committed records first..last inclusive,
// each followed by '\n' (NDJSON), streamed from the file through its own
// descriptor: memory does not grow with the range. It needs
// 1 ≤ first ≤ last ≤ Head().Seq, else store.ErrNotFound. The reader implements
// io.WriterTo (so io.Copy to a network connection can use sendfile) and
// io.Seeker, and stays usable after the log is closed; the caller closes it.
func (l *EventLog) Reader(ctx context.Context, first, last uint64) (io.ReadCloser, error) {
	release, err := l.use()
	if err != nil {
		return nil, err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files := l.current()
	n, err := files.seq.count()
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	if first == 0 || first > last || last > n {
		return nil, fmt.Errorf("records %d..%d of %d: %w", first, last, n, store.ErrNotFound)
	}
	start, err := files.seq.end(first - 1)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	end, err := files.seq.end(last)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	if end <= start {
		err := &store.CorruptionError{Path: files.seq.path, Offset: int64(last-1) * 8, Seq: last, Reason: "entries out of order"}
		l.noteDamage(ctx, err)
		return nil, err
	}
	f, err := os.Open(files.log.Name())
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return newStableReader(ctx, l, f, start, end), nil
}
