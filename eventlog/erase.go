package eventlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"apie/event"
	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// Erasure: a record's body is overwritten in place (see doc.go, Erasure).

const (
	eraseGenName = "erase.gen" // the erase generation: readers' seqlock
	erasingName  = "erasing"   // the intent of an erase in progress
)

// eraseStep names a point in an erase, for test hooks.
type eraseStep int

const (
	eraseIntentWritten eraseStep = iota + 1 // the intent is durable, no tombstone yet
	eraseTombstoned                         // the tombstone is committed, the record untouched
	eraseHalfWritten                        // the first half of the erased record is written
	eraseOverwritten                        // the record is erased and synced, the intent still there
)

// step runs the eraseStep hook, if any.
func (l *EventLog) step(s eraseStep) error {
	if l.hooks.eraseStep == nil {
		return nil
	}
	return l.hooks.eraseStep(s)
}

// eraseIntent is the content of the erasing file.
type eraseIntent struct {
	Seq       uint64 `json:"seq"`
	Offset    int64  `json:"offset"`
	Tombstone string `json:"tombstone"` // the tombstone's eventId
	Record    string `json:"record"`    // the erased record, padded to the old length, without '\n'
}

// genFile is the erase generation file, opened by readers once it exists.
type genFile struct {
	mu sync.Mutex
	f  *os.File
}

var _ store.Eraser = (*EventLog)(nil)

// Erase implements store.Eraser. It holds the writer lock throughout:
// it writes the erased record's intent (durable), appends the tombstone
// (durable), overwrites the record under the erase generation (readers
// retry a read that overlapped it), fsyncs the log, and removes the
// intent. See doc.go for how a crash at any point is finished.
func (l *EventLog) Erase(ctx context.Context, h sum.Hash, reason, createdBy string) (store.AppendResult, error) {
	release, err := l.use()
	if err != nil {
		return store.AppendResult{}, err
	}
	defer release()
	var res store.AppendResult
	err = l.withWriterLock(ctx, func() error {
		if err := l.prepareLocked(ctx); err != nil {
			return err
		}
		res, err = l.eraseLocked(ctx, h, reason, createdBy)
		return err
	})
	if err != nil {
		return store.AppendResult{}, fmt.Errorf("erase %s: %w", h, err)
	}
	return res, nil
}

// eraseLocked erases event h; the caller holds wmu and the flock, and has
// prepared the log.
func (l *EventLog) eraseLocked(ctx context.Context, h sum.Hash, reason, createdBy string) (store.AppendResult, error) {
	ctx = holdingLock(ctx)
	seq, ev, _, err := l.find(ctx, 0, indexKeys(h, "")[0], func(ev *event.Event) bool { return ev.Hash == h }, false)
	if err != nil {
		return store.AppendResult{}, err
	}
	if ev.EventType == event.ErasedType {
		return store.AppendResult{}, fmt.Errorf("event %d is an apie.erased event: %w", seq, store.ErrNotErasable)
	}
	draft := event.TombstoneDraft(h, seq, reason)
	if _, tev, trec, err := l.findTombstone(ctx, draft.EventID); err == nil {
		return store.AppendResult{Events: []event.Event{tev}, Records: [][]byte{trec}}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.AppendResult{}, err
	}
	erasedEv := event.Erase(ev)
	erased := erasedEv.Record()
	start, end, err := l.files.seq.span(seq)
	if err != nil {
		return store.AppendResult{}, err
	}
	room := int(end - start - 1) // the record without its '\n'
	if len(erased) > room {
		return store.AppendResult{}, fmt.Errorf("event %d has no bodySalt and a body shorter than null: %w", seq, store.ErrNotErasable)
	}
	intent := eraseIntent{Seq: seq, Offset: start, Tombstone: draft.EventID,
		Record: string(erased) + string(bytes.Repeat([]byte{' '}, room-len(erased)))}

	// The intent is durable before the tombstone is written: a tombstone
	// in the log then always comes with an intent or an erased record.
	b, err := json.Marshal(intent)
	if err != nil {
		return store.AppendResult{}, err
	}
	if err := durable.WriteFile(l.path(erasingName), append(b, '\n'), l.fileMode); err != nil {
		return store.AppendResult{}, l.stickLocked("write the erase intent", err)
	}
	if err := l.step(eraseIntentWritten); err != nil {
		return store.AppendResult{}, err
	}
	call := &appendCall{ctx: ctx, req: store.AppendRequest{Drafts: []event.Draft{draft}, CreatedBy: createdBy}}
	l.w.erasing = true // the commit's own checks must not drop the intent
	l.commitGroup(ctx, []*appendCall{call}, func() {})
	l.w.erasing = false
	if call.err != nil {
		// The intent stays: the next writer finishes the erase if the
		// tombstone reached the log and drops it if not.
		return store.AppendResult{}, call.err
	}
	if err := l.step(eraseTombstoned); err != nil {
		return store.AppendResult{}, err
	}
	if err := l.applyIntentLocked(intent); err != nil {
		return store.AppendResult{}, err
	}
	return call.res, nil
}

// findTombstone finds the apie.erased event with eventId id.
func (l *EventLog) findTombstone(ctx context.Context, id string) (uint64, event.Event, []byte, error) {
	return l.find(ctx, 1, indexKeys(sum.Hash{}, id)[1], func(ev *event.Event) bool {
		return ev.EventID == id && ev.EventType == event.ErasedType
	}, false)
}

// applyIntentLocked overwrites the record with its erased form between
// two steps of the erase generation, fsyncs the log and removes the
// intent. It is idempotent: recovery runs it again after a crash.
func (l *EventLog) applyIntentLocked(in eraseIntent) error {
	files := l.files
	start, end, err := files.seq.span(in.Seq)
	if err != nil {
		return err
	}
	if start != in.Offset || end-start != int64(len(in.Record))+1 {
		return &store.CorruptionError{Path: l.path(erasingName), Offset: 0, Seq: in.Seq,
			Reason: fmt.Sprintf("erase intent for bytes %d..%d, but the record is %d..%d", in.Offset, in.Offset+int64(len(in.Record))+1, start, end)}
	}
	gen, err := os.OpenFile(l.path(eraseGenName), os.O_RDWR|os.O_CREATE, l.fileMode)
	if err != nil {
		return l.stickLocked("open the erase generation", err)
	}
	defer gen.Close()
	g, err := readGen(gen)
	if err != nil {
		return l.stickLocked("read the erase generation", err)
	}
	if g%2 == 0 {
		g++
		if err := writeGen(gen, g); err != nil {
			return l.stickLocked("write the erase generation", err)
		}
	}
	if err := l.overwrite(files.log, append([]byte(in.Record), '\n'), in.Offset); err != nil {
		return l.stickLocked("overwrite the erased record", err)
	}
	if err := files.log.Sync(); err != nil {
		return l.stickLocked("sync the erased record", err)
	}
	if err := l.step(eraseOverwritten); err != nil {
		return err
	}
	if err := writeGen(gen, g+1); err != nil {
		return l.stickLocked("write the erase generation", err)
	}
	if err := gen.Sync(); err != nil {
		return l.stickLocked("sync the erase generation", err)
	}
	if err := os.Remove(l.path(erasingName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l.stickLocked("remove the erase intent", err)
	}
	if err := durable.SyncDir(l.dir); err != nil {
		return l.stickLocked("sync the log directory", err)
	}
	return nil
}

// overwrite writes rec at off: one pwrite, or two with the
// eraseHalfWritten hook between them when a test asks.
func (l *EventLog) overwrite(f *os.File, rec []byte, off int64) error {
	if l.hooks.eraseStep == nil {
		_, err := f.WriteAt(rec, off)
		return err
	}
	half := len(rec) / 2
	if _, err := f.WriteAt(rec[:half], off); err != nil {
		return err
	}
	if err := l.step(eraseHalfWritten); err != nil {
		return err
	}
	_, err := f.WriteAt(rec[half:], off+int64(half))
	return err
}

// finishEraseLocked finishes or drops an erase a crash interrupted (see
// doc.go): with its tombstone committed the record is overwritten from
// the intent; without it the erase never happened and the intent is
// removed. The caller holds wmu and the flock, and has repaired the tail.
func (l *EventLog) finishEraseLocked(ctx context.Context) error {
	if l.w.erasing {
		return nil
	}
	if l.w.noIntent && l.w.watch != nil && !l.w.watch.changed(watchErasing) {
		return nil // no intent when last looked, and its name untouched since
	}
	l.w.noIntent = false
	watched := l.w.watch != nil
	if watched {
		l.w.watch.changed(watchErasing) // what follows reads the intent after every change queued so far
	}
	ctx = holdingLock(ctx)
	b, err := os.ReadFile(l.path(erasingName))
	if errors.Is(err, fs.ErrNotExist) {
		l.w.noIntent = watched
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the erase intent: %w", err)
	}
	var in eraseIntent
	if err := json.Unmarshal(b, &in); err != nil {
		return &store.CorruptionError{Path: l.path(erasingName), Offset: 0, Reason: "erase intent is not JSON", Err: err}
	}
	_, _, _, err = l.findTombstone(ctx, in.Tombstone)
	switch {
	case errors.Is(err, store.ErrNotFound):
		l.logger.Warn("an erase died before its tombstone; the body is kept", "path", l.dir, "seq", in.Seq)
		if err := os.Remove(l.path(erasingName)); err != nil {
			return fmt.Errorf("remove the erase intent: %w", err)
		}
		return durable.SyncDir(l.dir)
	case err != nil:
		return err
	}
	l.logger.Warn("finishing an erase that died after its tombstone", "path", l.dir, "seq", in.Seq)
	return l.applyIntentLocked(in)
}

// Erasures implements store.Eraser: the erases made so far, read from
// the erase generation (each erase adds 2).
func (l *EventLog) Erasures(ctx context.Context) (uint64, error) {
	release, err := l.use()
	if err != nil {
		return 0, err
	}
	defer release()
	g, err := l.generation()
	if err != nil {
		return 0, fmt.Errorf("read the erase generation: %w", err)
	}
	return (g + 1) / 2, nil
}

// generation returns the erase generation (0 while no erase was ever
// made); odd while an overwrite is in progress. Readers take no lock: the
// file, once it exists, is kept open.
func (l *EventLog) generation() (uint64, error) {
	l.gen.mu.Lock()
	defer l.gen.mu.Unlock()
	if l.gen.f == nil {
		f, err := os.Open(l.path(eraseGenName))
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		l.gen.f = f
	}
	return readGen(l.gen.f)
}

// stableRead runs read, which reads bytes of the log, so that it sees no
// record half overwritten by an erase: a seqlock on the erase generation.
// If the generation is odd or changes across the read, read runs again;
// an odd generation that stays (an erase that died) is finished under the
// writer lock first.
func (l *EventLog) stableRead(ctx context.Context, read func() error) error {
	if ctx.Value(lockHeld{}) != nil || l.hooks.noSeqlock {
		return read() // only the lock holder overwrites records
	}
	for {
		g1, err := l.generation()
		if err != nil {
			return fmt.Errorf("read the erase generation: %w", err)
		}
		if g1%2 == 1 {
			dead, err := l.eraserDead()
			if err != nil {
				return err
			}
			if !dead {
				if l.hooks.readerWaits != nil {
					l.hooks.readerWaits(ctx)
				}
				if err := pause(ctx); err != nil {
					return err
				}
				continue
			}
			// An erase died mid-way: nothing writes the record now; the
			// next writer finishes the erase.
			return read()
		}
		if err := read(); err != nil {
			return err
		}
		g2, err := l.generation()
		if err != nil {
			return fmt.Errorf("read the erase generation: %w", err)
		}
		if g1 == g2 {
			return nil
		}
	}
}

// lockHeld marks a context whose goroutine holds the writer lock.
type lockHeld struct{}

func holdingLock(ctx context.Context) context.Context {
	return context.WithValue(ctx, lockHeld{}, true)
}

// eraserDead reports whether no process holds the writer lock, so that
// an odd erase generation is left by an erase that died.
func (l *EventLog) eraserDead() (bool, error) {
	unlock, ok, err := durable.TryLock(l.path(logLockName), l.fileMode)
	if err != nil || !ok {
		return false, err
	}
	unlock()
	return true, nil
}

// pause waits a moment for an overwrite in progress (one pwrite and an
// fsync) to end.
func pause(ctx context.Context) error {
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func readGen(f *os.File) (uint64, error) {
	var b [8]byte
	n, err := f.ReadAt(b[:], 0)
	if n == 0 && errors.Is(err, io.EOF) {
		return 0, nil
	}
	if n != 8 {
		return 0, fmt.Errorf("read %s: %d bytes: %w", f.Name(), n, err)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func writeGen(f *os.File, g uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], g)
	_, err := f.WriteAt(b[:], 0)
	return err
}

// trimPad removes the spaces an erased record is padded with.
func trimPad(rec []byte) []byte { return bytes.TrimRight(rec, " ") }

// erasures checks, during a scan of the log in order, that every body
// that looks erased is named by a later apie.erased event (its hash and
// seq). Its memory grows with the erased events not yet named only.
type erasures struct {
	pending map[sum.Hash]pendingErase // erased bodies not yet named
	erased  uint64                    // erased bodies named by a tombstone
}

type pendingErase struct {
	seq uint64
	off int64
}

func newErasures() *erasures { return &erasures{pending: make(map[sum.Hash]pendingErase)} }

// see notes ev, whose body looks erased if erased, at offset off.
func (e *erasures) see(ev *event.Event, erased bool, off int64) {
	if erased {
		e.pending[ev.Hash] = pendingErase{seq: ev.Seq, off: off}
		return
	}
	t, ok := event.ParseTombstone(ev)
	if !ok {
		return
	}
	if p, ok := e.pending[t.Erased]; ok && p.seq == t.Seq {
		delete(e.pending, t.Erased)
		e.erased++
	}
}

// check returns damage at the first erased body no tombstone named.
func (e *erasures) check(path string) error {
	var first pendingErase
	for _, p := range e.pending {
		if first.seq == 0 || p.seq < first.seq {
			first = p
		}
	}
	if first.seq == 0 {
		return nil
	}
	return &store.CorruptionError{Path: path, Offset: first.off, Seq: first.seq,
		Reason: "body is null and does not match bodyHash, and no later apie.erased event names it"}
}
