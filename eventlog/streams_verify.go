package eventlog

import (
	"context"
	"errors"
	"fmt"

	"apie/event"
	"apie/store"
)

// Verifying streams: each stream's streamSeqs run 1, 2, 3… in log order
// (damage to the log if not), and the stream index agrees with the log (a
// stale or damaged index is derived data: it is rebuilt, with a log line).

// streamChecker follows a whole-log check.
type streamChecker struct {
	l        *EventLog
	files    logFiles
	versions map[string]uint64 // each stream's version so far: memory grows with the number of streams
	trusted  [2]uint64         // seqs up to which stream.idx and streams.idx must hold entries
	slots    uint64
	firsts   []uint64 // streams.idx's entries
	started  int      // streams begun so far (at seqs ≤ trusted[1])
	stale    error    // the first disagreement between the index and the log
}

// newStreamChecker reads the stream index headers. A bad header is not
// damage: the next writer rebuilds that file, so it is not checked.
func (l *EventLog) newStreamChecker(files logFiles) *streamChecker {
	sc := &streamChecker{l: l, files: files, versions: make(map[string]uint64)}
	for i, x := range files.streams.headers() {
		h, err := x.readHeader()
		if err != nil {
			continue
		}
		sc.trusted[i] = h.trusted(l.bootID)
		if i == 0 {
			sc.slots = h.slots
		}
	}
	if sc.trusted[1] > 0 {
		firsts, err := files.streams.list.entries()
		if err != nil {
			sc.stale = err
		}
		sc.firsts = firsts
	}
	return sc
}

// event checks the next event of the log.
func (sc *streamChecker) event(seq uint64, off int64, ev *event.Event) error {
	if ev.Stream == "" {
		return nil
	}
	if want := sc.versions[ev.Stream] + 1; ev.StreamSeq != want {
		return &store.CorruptionError{Path: sc.files.log.Name(), Offset: off, Seq: seq,
			Reason: fmt.Sprintf("streamSeq %d of stream %s does not follow its version %d", ev.StreamSeq, ev.Stream, want-1)}
	}
	sc.versions[ev.Stream] = ev.StreamSeq
	if sc.stale != nil {
		return nil
	}
	if seq <= sc.trusted[0] {
		found, err := sc.files.streams.idx.probe(sc.slots, streamKey(ev.Stream, ev.StreamSeq), seq,
			func(s uint64) (bool, error) { return s == seq, nil })
		if err != nil {
			return err
		}
		if !found {
			sc.stale = fmt.Errorf("%s: version %d of stream %s (seq %d) is not found through it", streamIdxName, ev.StreamSeq, ev.Stream, seq)
		}
	}
	if ev.StreamSeq == 1 && seq <= sc.trusted[1] {
		if sc.started >= len(sc.firsts) || sc.firsts[sc.started] != seq {
			sc.stale = fmt.Errorf("%s: stream %s, begun at seq %d, is not its entry %d", streamsName, ev.Stream, seq, sc.started+1)
		}
		sc.started++
	}
	return nil
}

// finish rebuilds the stream index if the check found it stale.
func (sc *streamChecker) finish(ctx context.Context) error {
	if sc.stale == nil {
		return nil
	}
	return sc.l.rebuildStreams(ctx, sc.stale)
}

// rebuildStreams empties both stream files and rebuilds them from the
// log under the writer lock, logging why.
func (l *EventLog) rebuildStreams(ctx context.Context, why error) error {
	err := l.withWriterLock(ctx, func() error {
		if l.w.sticky != nil {
			return nil // a refusing log is not written to; the next process rebuilds
		}
		if err := l.refreshFilesLocked(); err != nil {
			return err
		}
		l.logger.Warn("the stream index disagrees with the log; rebuilding it", "path", l.dir, "reason", why.Error())
		for _, x := range l.files.streams.headers() {
			// An empty header is bad: catching up rebuilds from seq 1.
			if err := x.f.Truncate(0); err != nil {
				return fmt.Errorf("empty %s: %w", x.path, err)
			}
		}
		return l.catchUpStreamsLocked(ctx)
	})
	if err != nil && !errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("rebuild the stream index: %w", err)
	}
	return err
}
