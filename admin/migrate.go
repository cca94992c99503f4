package admin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"apie/app"
	"apie/config"
	"apie/event"
	"apie/store"
	"apie/sum"
)

// migrateBatch bounds how many events one append of a migration carries:
// consecutive events with the same createdAt and createdBy (an original
// batch) go in one. The streamSeqs come out the same as the source's: the
// destination numbers each stream's events in the same order.
const migrateBatch = 100

// lister is a blob store that can name its blobs: both backends' stores.
type lister interface {
	store.BlobStore
	List(ctx context.Context, fn func(sum.Hash) error) error
}

// runMigrate copies the event log and the blobs of the config in force
// into the stores the config at args' --to names (files, PostgreSQL, S3),
// which must be empty. Each event is appended again with its own eventId,
// eventType, body, bodySalt, stream, createdBy and createdAt, so it gets
// the same hash; the
// copy is checked record by record and, at the end, the destination's
// head against the source's.
func runMigrate(ctx context.Context, env Env, args []string) error {
	if len(args) != 2 || (args[0] != "--to" && args[0] != "-to") {
		return usageError("migrate needs --to CONFIG")
	}
	dstCfg, err := config.Load(args[1])
	if err != nil {
		return fmt.Errorf("migrate: the destination's config: %w", err)
	}
	if env.Config.EventLog.Postgres == nil {
		if err := needFile(env.Config, env.Config.EventLog.Path, "event log"); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	src := app.NewStores(env.Config, nil).Existing()
	defer src.Close()
	var clock time.Time
	dst := app.NewStores(dstCfg, nil).WithClock(func() time.Time { return clock })
	defer dst.Close()

	srcLog, err := src.Log(ctx)
	if err != nil {
		return fmt.Errorf("migrate: open the source's event log: %w", err)
	}
	srcBlobs, err := openLister(ctx, src)
	if err != nil {
		return fmt.Errorf("migrate: open the source's blobs: %w", err)
	}
	dstLog, err := dst.Log(ctx)
	if err != nil {
		return fmt.Errorf("migrate: open the destination's event log: %w", err)
	}
	dstBlobs, err := openLister(ctx, dst)
	if err != nil {
		return fmt.Errorf("migrate: open the destination's blobs: %w", err)
	}
	if err := checkEmpty(ctx, dstLog, dstBlobs); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	head, err := srcLog.Head(ctx)
	if err != nil {
		return fmt.Errorf("migrate: the source's head: %w", err)
	}
	if head.Seq > 0 {
		if err := copyLog(ctx, srcLog, dstLog, head, &clock); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	rep, err := dstLog.Verify(ctx, false)
	if err != nil {
		return fmt.Errorf("migrate: verify the copied log: %w", err)
	}
	if rep.Head != head.Hash || rep.Events != head.Seq {
		return fmt.Errorf("migrate: the copy's head is %s (%d events), the source's %s (%d events)", rep.Head, rep.Events, head.Hash, head.Seq)
	}
	blobs, bytes, err := copyBlobs(ctx, srcBlobs, dstBlobs)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(env.Stdout, "migrated %d events (head %s, the same in both) and %d blobs (%d bytes) to %s\n",
		head.Seq, head.Hash, blobs, bytes, args[1])
	return nil
}

func openLister(ctx context.Context, s *app.Stores) (lister, error) {
	b, err := s.Blobs(ctx)
	if err != nil {
		return nil, err
	}
	l, ok := b.(lister)
	if !ok {
		return nil, fmt.Errorf("a blob store of type %T cannot list its blobs", b)
	}
	return l, nil
}

// errNotEmpty ends a listing at the first blob.
var errNotEmpty = errors.New("not empty")

// checkEmpty refuses a destination that holds anything.
func checkEmpty(ctx context.Context, l store.EventLog, b lister) error {
	head, err := l.Head(ctx)
	if err != nil {
		return fmt.Errorf("the destination's head: %w", err)
	}
	if head.Seq > 0 {
		return fmt.Errorf("the destination's event log holds %d events; migrate copies only into empty stores", head.Seq)
	}
	err = b.List(ctx, func(sum.Hash) error { return errNotEmpty })
	if errors.Is(err, errNotEmpty) {
		return errors.New("the destination's blob store holds blobs; migrate copies only into empty stores")
	}
	if err != nil {
		return fmt.Errorf("list the destination's blobs: %w", err)
	}
	return nil
}

// copyLog appends the source's records 1..head.Seq to dst, each with its
// own createdAt (through clock), and checks that each copy has the
// source's hash.
func copyLog(ctx context.Context, src, dst store.EventLog, head store.Head, clock *time.Time) error {
	r, err := src.Reader(ctx, 1, head.Seq)
	if err != nil {
		return fmt.Errorf("read the source's log: %w", err)
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	var batch []event.Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := appendCopies(ctx, dst, batch, clock)
		batch = batch[:0]
		return err
	}
	for seq := uint64(1); seq <= head.Seq; seq++ {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("read the source's record %d: %w", seq, err)
		}
		// An erased record is padded with spaces on files, not in PostgreSQL.
		ev, erased, err := event.VerifyErasable(bytes.TrimRight(line[:len(line)-1], " "))
		if err != nil || ev.Seq != seq {
			return fmt.Errorf("the source's record %d does not verify (run verify): %v", seq, err)
		}
		if erased {
			return fmt.Errorf("the source's record %d is erased: migrate cannot copy erased events yet (appending it again cannot give its hash)", seq)
		}
		if n := len(batch); n > 0 && (n == migrateBatch || batch[0].CreatedAt != ev.CreatedAt || batch[0].CreatedBy != ev.CreatedBy) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, ev)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fmt.Errorf("the source's log holds more than its %d events", head.Seq)
	}
	return flush()
}

// appendCopies appends evs (same createdAt and createdBy) in one request
// and checks each copy's hash.
func appendCopies(ctx context.Context, dst store.EventLog, evs []event.Event, clock *time.Time) error {
	t, err := time.Parse(time.RFC3339Nano, evs[0].CreatedAt)
	if err != nil {
		return fmt.Errorf("record %d: createdAt %q: %w", evs[0].Seq, evs[0].CreatedAt, err)
	}
	*clock = t
	req := store.AppendRequest{CreatedBy: evs[0].CreatedBy}
	for _, ev := range evs {
		if ev.BodySalt == "" {
			return fmt.Errorf("record %d has no bodySalt (stored before salts, or erased): migrate cannot copy it yet", ev.Seq)
		}
		req.Drafts = append(req.Drafts, event.Draft{EventID: ev.EventID, EventType: ev.EventType, Body: ev.Body, ClientID: true,
			BodySalt: ev.BodySalt, Stream: ev.Stream})
	}
	res, err := dst.Append(ctx, req)
	if err != nil {
		return fmt.Errorf("append records %d..%d: %w", evs[0].Seq, evs[len(evs)-1].Seq, err)
	}
	for i, ev := range evs {
		if got := res.Events[i]; got.Seq != ev.Seq || got.Hash != ev.Hash {
			return fmt.Errorf("record %d copied as seq %d, hash %s; want hash %s", ev.Seq, got.Seq, got.Hash, ev.Hash)
		}
	}
	return nil
}

// copyBlobs puts every blob of src into dst, checked against its hash on
// the way, and returns how many and their bytes.
func copyBlobs(ctx context.Context, src, dst lister) (n, bytes int64, err error) {
	err = src.List(ctx, func(h sum.Hash) error {
		r, info, err := src.Open(ctx, h)
		if err != nil {
			return fmt.Errorf("read blob %s: %w", h, err)
		}
		defer r.Close()
		got, _, err := dst.Put(ctx, r, store.BlobInfo{ContentType: info.ContentType, Filename: info.Filename}, &h)
		if err != nil {
			return fmt.Errorf("copy blob %s: %w", h, err)
		}
		n, bytes = n+1, bytes+got.Size
		return nil
	})
	return n, bytes, err
}
