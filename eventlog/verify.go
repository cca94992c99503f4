package eventlog

import (
	"context"
	"errors"
	"fmt"
	"os"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Verify reads the whole log and checks it: every record against the hash
// rule (event.VerifyRecord), its seq, its link to the one before, its
// seq.idx entry, and that it is found through hash.idx and id.idx. Before
// reading it takes the writer lock to repair the tail and catch the indexes
// up, as a writer would. With fixModes it first sets the directory's and
// the files' modes to the configured ones. The first problem is returned
// as a *CorruptionError naming its file, offset and seq; from then on this
// *EventLog refuses appends, as it does for damage found when opening. Verify streams:
// its memory does not grow with the log.
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
	if err := l.repair(ctx); err != nil {
		if ctx.Err() != nil {
			return store.LogReport{}, fmt.Errorf("verify: %w", err)
		}
		// Damage is for the scan below to pinpoint; a refusing log still verifies.
		l.logger.Warn("verify: repair before reading failed", "path", l.dir, "err", err)
	}
	files := l.current()
	n, err := files.seq.count()
	if err != nil {
		return store.LogReport{}, fmt.Errorf("verify: %w", err)
	}
	var hdr [2]indexHeader
	for i, x := range files.idx {
		if hdr[i], err = x.readHeader(); err != nil {
			return store.LogReport{}, &store.CorruptionError{Path: x.path, Offset: 0, Err: err}
		}
	}
	head := sum.Genesis
	err = forEachRecord(ctx, files, 1, n, func(seq uint64, rec []byte, off int64) error {
		ev, err := event.VerifyRecord(rec)
		if err != nil {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq, Err: err}
		}
		if ev.Seq != seq {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq,
				Reason: fmt.Sprintf("record holds seq %d", ev.Seq)}
		}
		if ev.PrevHash != head {
			return &store.CorruptionError{Path: files.log.Name(), Offset: off, Seq: seq,
				Reason: fmt.Sprintf("prevHash %s does not link to the hash %s of the event before", ev.PrevHash, head)}
		}
		head = ev.Hash
		keys := indexKeys(ev.Hash, ev.EventID)
		for i, x := range files.idx {
			if seq > hdr[i].trusted(l.bootID) {
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
	if isCorruption(err) {
		l.wmu.Lock()
		if l.w.sticky == nil {
			l.w.sticky = err
		}
		l.wmu.Unlock()
	}
	if err != nil {
		return store.LogReport{}, fmt.Errorf("verify: %w", err)
	}
	end, err := files.seq.end(n)
	if err != nil {
		return store.LogReport{}, fmt.Errorf("verify: %w", err)
	}
	return store.LogReport{Events: n, Head: head, Bytes: end}, nil
}

// fixModes sets the directory and every file of the log to the configured
// modes.
func (l *EventLog) fixModes() error {
	errs := []error{os.Chmod(l.dir, l.dirMode)}
	for _, name := range []string{logFormatName, logDataName, seqIdxName, hashIdxName, idIdxName, logLockName} {
		if err := os.Chmod(l.path(name), l.fileMode); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
