package eventlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"apie/event"
	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// Verify reads the whole log and checks it: every record against the hash
// rule (event.VerifyRecord), its seq, its link to the one before, its
// seq.idx entry, and that it is found through hash.idx and id.idx. Before
// reading it takes the writer lock to repair the tail and catch the indexes
// up, as a writer would (even while damage is recorded). With fixModes it
// first sets the directory's and the files' modes to the configured ones.
// The first problem is returned as a *store.CorruptionError naming its file,
// offset and seq, and recorded in the damage marker: from then on every
// process sharing the log refuses appends. A Verify that passes removes
// the marker (unless other damage was recorded while it ran), so appends
// are accepted again. Verify streams: its memory does not grow with the
// log.
func (l *EventLog) Verify(ctx context.Context, fixModes bool) (store.LogReport, error) {
	release, err := l.use()
	if err != nil {
		return store.LogReport{}, err
	}
	defer release()
	if fixModes {
		if err := l.fixModes(); err != nil {
			return store.LogReport{}, fmt.Errorf("verify: %w", err)
		}
	}
	marker, err := l.repairForVerify(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return store.LogReport{}, fmt.Errorf("verify: %w", err)
		}
		// Damage is for the scan below to pinpoint; a refusing log still verifies.
		l.logger.Warn("verify: repair before reading failed", "path", l.dir, "err", err)
	}
	rep, err := l.check(ctx, false, nil)
	if isCorruption(err) {
		err = errors.Join(err, l.recordFound(ctx, err, foundByVerify))
	}
	if err != nil {
		return store.LogReport{}, fmt.Errorf("verify: %w", err)
	}
	if marker != nil {
		if err := l.withWriterLock(ctx, func() error { return l.clearDamageLocked(marker) }); err != nil {
			return store.LogReport{}, fmt.Errorf("verify passed, but: %w", err)
		}
	}
	return rep, nil
}

// repairForVerify takes the writer lock and repairs the tail and the
// indexes whether or not damage is recorded; it returns the marker's
// bytes as they were then (nil if none).
func (l *EventLog) repairForVerify(ctx context.Context) (marker []byte, err error) {
	err = l.withWriterLock(ctx, func() error {
		_, b, err := l.readDamage()
		if err != nil {
			return err
		}
		marker = b
		if l.w.sticky != nil {
			return l.w.sticky
		}
		if err := l.refreshFilesLocked(); err != nil {
			if isCorruption(err) {
				l.w.sticky = err
			}
			return err
		}
		if err := l.repairTailLocked(ctx, foundByVerify); err != nil {
			return err
		}
		return l.finishEraseLocked(ctx)
	})
	return marker, err
}

// withWriterLock runs fn holding wmu and the flock.
func (l *EventLog) withWriterLock(ctx context.Context, fn func() error) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	unlock, err := durable.Lock(ctx, l.path(logLockName), l.fileMode)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// recordFound records damage a scan found (a *store.CorruptionError in err) in
// the marker, under the writer lock.
func (l *EventLog) recordFound(ctx context.Context, err error, by string) error {
	var ce *store.CorruptionError
	if !errors.As(err, &ce) {
		return nil
	}
	lerr := l.withWriterLock(ctx, func() error {
		l.recordDamageLocked(ce, by)
		return nil
	})
	if lerr != nil {
		return fmt.Errorf("record the damage: %w", lerr)
	}
	return nil
}

// check reads every committed record and checks it as Verify says,
// taking no lock. With skipBadIndex an index whose header is bad (a
// writer rebuilds it from the log, so it is not damage) is not probed;
// otherwise a bad header is damage. pace, if not nil, is called with each
// record's size before it is checked (the scrub's rate limit); its error
// stops the check.
func (l *EventLog) check(ctx context.Context, skipBadIndex bool, pace func(n int) error) (store.LogReport, error) {
	for try := 0; ; try++ {
		g1, gerr := l.generation()
		rep, err := l.checkOnce(ctx, skipBadIndex, pace)
		if !isCorruption(err) || gerr != nil || try >= 3 {
			return rep, err
		}
		// Damage seen while an erase overwrote a record may be that
		// record half written: look again.
		if g2, gerr := l.generation(); gerr != nil || (g1 == g2 && g1%2 == 0) {
			return rep, err
		}
	}
}

// checkOnce is one pass of check.
func (l *EventLog) checkOnce(ctx context.Context, skipBadIndex bool, pace func(n int) error) (store.LogReport, error) {
	files := l.current()
	n, err := files.seq.count()
	if err != nil {
		return store.LogReport{}, err
	}
	var hdr [2]indexHeader
	var skip [2]bool
	for i, x := range files.idx {
		hdr[i], err = x.readHeader()
		if skipBadIndex && errors.Is(err, errBadIndexHeader) {
			skip[i] = true
			continue
		}
		if err != nil {
			return store.LogReport{}, &store.CorruptionError{Path: x.path, Offset: 0, Err: err}
		}
	}
	head := sum.Genesis
	erasures := newErasures()
	streams := l.newStreamChecker(files)
	err = forEachRecord(ctx, files, 1, n, func(seq uint64, rec []byte, off int64) error {
		if pace != nil {
			if err := pace(len(rec) + 1); err != nil {
				return err
			}
		}
		ev, erased, err := event.VerifyErasable(rec)
		if err != nil {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq, Err: err}
		}
		erasures.see(&ev, erased, off)
		if ev.Seq != seq {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq,
				Reason: fmt.Sprintf("record holds seq %d", ev.Seq)}
		}
		if ev.PrevHash != head {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq,
				Reason: fmt.Sprintf("prevHash %s does not link to the hash %s of the event before", ev.PrevHash, head)}
		}
		head = ev.Hash
		if err := streams.event(seq, off, &ev); err != nil {
			return err
		}
		keys := indexKeys(ev.Hash, ev.EventID)
		for i, x := range files.idx {
			if skip[i] || seq > hdr[i].trusted(l.bootID) {
				continue // appended after the headers were read
			}
			found, err := x.probe(hdr[i].slots, keys[i], seq, func(s uint64) (bool, error) { return s == seq, nil })
			if err != nil {
				return err
			}
			if !found {
				return &store.CorruptionError{Path: x.path, Offset: -1, Seq: seq,
					Reason: fmt.Sprintf("event %s is not found through the index", ev.Hash)}
			}
		}
		return nil
	})
	if err == nil {
		err = erasures.check(files.log.Name())
	}
	if err == nil {
		err = streams.finish(ctx)
	}
	if err != nil {
		return store.LogReport{}, err
	}
	end, err := files.seq.end(n)
	if err != nil {
		return store.LogReport{}, err
	}
	return store.LogReport{Events: n, Head: head, Bytes: end, Erased: erasures.erased}, nil
}

// fixModes sets the directory and every file of the log to the configured
// modes, changing only those that differ: a mode already right needs no
// chmod, so a user who may read and write the files without owning them
// (a group shared with the web server) can verify too.
func (l *EventLog) fixModes() error {
	errs := []error{fixMode(l.dir, l.dirMode)}
	for _, name := range []string{logFormatName, logDataName, seqIdxName, hashIdxName, idIdxName, logLockName, streamIdxName, streamsName} {
		errs = append(errs, fixMode(l.path(name), l.fileMode))
	}
	return errors.Join(errs...)
}

// fixMode sets path's permission bits to mode if they differ; a missing
// path is left missing.
func fixMode(path string, mode fs.FileMode) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == mode.Perm() {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
