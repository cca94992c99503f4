package eventlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Recovery: what the holder of the writer lock does before it appends.
// It reads only the tail, except to rebuild a lost index.

// prepareLocked brings the writer's view up to date: it re-opens replaced
// index files, refuses if damage is recorded (the marker, see
// eventlog_damage.go), repairs the tail of seq.idx and the log, and
// catches the indexes up. Damage it finds is recorded in the marker. The
// caller holds wmu and the flock.
func (l *EventLog) prepareLocked(ctx context.Context) error {
	if l.w.sticky != nil {
		return l.w.sticky
	}
	if err := l.refreshFilesLocked(); err != nil {
		if isCorruption(err) { // the log file itself was replaced: this process cannot go on
			l.w.sticky = err
			l.logger.Error("event log file replaced while open; appends refused until reopened", "path", l.dir, "err", err)
		}
		return err
	}
	if err := l.checkDamageLocked(); err != nil {
		return err
	}
	if err := l.repairTailLocked(ctx, foundByWriter); err != nil {
		return err
	}
	return l.finishEraseLocked(ctx)
}

// repairTailLocked repairs the tail and catches the indexes up; damage
// it finds is recorded in the marker as found by by. The caller holds wmu
// and the flock.
func (l *EventLog) repairTailLocked(ctx context.Context, by string) error {
	err := l.recoverTailLocked(ctx)
	if err == nil {
		err = l.catchUpIndexesLocked(ctx)
	}
	var ce *store.CorruptionError
	if errors.As(err, &ce) {
		l.recordDamageLocked(ce, by)
	}
	return err
}

// recoverTailLocked makes seq.idx and the log agree (see doc.go,
// Recovery) and sets l.w.n, end and head to the committed state.
func (l *EventLog) recoverTailLocked(ctx context.Context) error {
	files := l.files
	size, err := files.seq.size()
	if err != nil {
		return err
	}
	if size%8 != 0 {
		l.logger.Warn("cut a partial seq.idx entry", "path", files.seq.path, "offset", size/8*8, "bytes", size%8)
		if err := files.seq.truncate(uint64(size / 8)); err != nil {
			return err
		}
	}
	n := uint64(size / 8)
	logLen, err := statSize(files.log)
	if err != nil {
		return err
	}
	holes := noHoles // a hole in the tail is damage, unless after a reboot
	if !l.w.seqChecked {
		if n, logLen, holes, err = l.checkSeqAfterBootLocked(ctx, files, n, logLen); err != nil {
			return err
		}
		l.w.seqChecked = true
	}
	if l.w.known && l.w.n == n {
		if end, err := files.seq.end(n); err == nil && end == l.w.end && end == logLen {
			return nil // nothing changed since this writer last looked
		}
	}
	valid, err := l.lastValidEntry(files, n, logLen)
	if err != nil {
		return err
	}
	if valid < n {
		l.logger.Warn("dropped seq.idx entries that point past the log (unsynced index after a crash)",
			"path", files.seq.path, "entries", n-valid, "kept", valid)
		if err := files.seq.truncate(valid); err != nil {
			return err
		}
		n = valid
	}
	end, err := files.seq.end(n)
	if err != nil {
		return err
	}
	head := sum.Genesis
	if n > 0 {
		if l.w.known && l.w.n == n && l.w.end == end {
			head = l.w.head
		} else {
			rec, start, err := readRecord(files, n)
			if err != nil {
				return err
			}
			ev, err := l.verifyRecovered(rec, start, -1)
			if err == nil && ev.Seq != n {
				err = fmt.Errorf("record holds seq %d", ev.Seq)
			}
			if err != nil {
				return &store.CorruptionError{Path: files.log.Name(), Offset: start, Seq: n,
					Reason: "last indexed record is invalid", Err: err}
			}
			head = ev.Hash
		}
	}
	l.w.known = false
	if logLen > end {
		n0, end0 := n, end
		if n, end, head, err = l.recoverRecordsLocked(ctx, files, n, end, head, logLen, holes); err != nil {
			return err
		}
		if n > n0 {
			l.logger.Warn("indexed complete records found past the last seq.idx entry",
				"path", files.log.Name(), "offset", end0, "bytes", end-end0, "last_seq", n)
		}
	}
	l.w.known, l.w.n, l.w.end, l.w.head = true, n, end, head
	return nil
}

// checkSeqAfterBootLocked rebuilds, after a reboot, the seq.idx entries
// that were not fsync'd: seq.idx is fsync'd only at checkpoints, so a power
// loss may have kept any subset of its later writes (a hole of zeros, or
// lost entries, in the middle of the file, not only a short tail). The
// entries up to the indexes' synced mark are trusted; the rest are written
// again from the records read from the log at the last trusted end, as
// recoverRecordsLocked indexes records past the end, and any entry past
// the last valid record is cut. Nothing is read when an index header was
// written during this boot (a writer of this boot checked seq.idx before
// it wrote that header). It returns the entry count and the log's length
// after the check, and after a reboot the synced mark past which a hole
// in the log is an unsynced tail (see recoverRecordsLocked; noHoles when
// the indexes were written during this boot). The caller holds the
// writer lock.
func (l *EventLog) checkSeqAfterBootLocked(ctx context.Context, files logFiles, n uint64, logLen int64) (uint64, int64, uint64, error) {
	mark, thisBoot := noHoles, false // mark: the indexes' synced mark
	for _, x := range files.idx {
		h, err := x.readHeader()
		switch {
		case errors.Is(err, errBadIndexHeader):
			mark = 0 // no mark to trust: check every entry
		case err != nil:
			return 0, 0, 0, err
		case l.bootID != "" && h.bootID == l.bootID:
			thisBoot = true
		default:
			mark = min(mark, h.synced)
		}
	}
	if thisBoot {
		return n, logLen, noHoles, nil
	}
	synced := min(n, mark)
	if synced >= n {
		return n, logLen, mark, nil
	}
	end, head := int64(0), sum.Genesis
	if synced > 0 {
		rec, start, err := readRecord(files, synced)
		if err != nil {
			return 0, 0, 0, err
		}
		ev, err := l.verifyRecovered(rec, start, -1)
		if err == nil && ev.Seq != synced {
			err = fmt.Errorf("record holds seq %d", ev.Seq)
		}
		if err != nil {
			return 0, 0, 0, &store.CorruptionError{Path: files.log.Name(), Offset: start, Seq: synced,
				Reason: fmt.Sprintf("last synced record is invalid: %v", err)}
		}
		end, head = start+int64(len(rec))+1, ev.Hash
	}
	got, _, _, err := l.recoverRecordsLocked(ctx, files, synced, end, head, logLen, mark)
	if err != nil {
		return 0, 0, 0, err
	}
	if got < n {
		if err := files.seq.truncate(got); err != nil {
			return 0, 0, 0, err
		}
		if err := files.seq.f.Sync(); err != nil {
			return 0, 0, 0, fmt.Errorf("sync %s: %w", files.seq.path, err)
		}
	}
	l.logger.Info("rebuilt the unsynced seq.idx entries from the log after a reboot",
		"path", files.seq.path, "synced", synced, "entries_before", n, "entries", got)
	if logLen, err = statSize(files.log); err != nil {
		return 0, 0, 0, err
	}
	return got, logLen, mark, nil
}

// lastValidEntry returns the largest count ≤ n whose last entry ends just
// after a '\n' inside the log and after the entry before it.
func (l *EventLog) lastValidEntry(files logFiles, n uint64, logLen int64) (uint64, error) {
	var e [2]int64
	var nl [1]byte
	for ; n > 0; n-- {
		if err := files.seq.ends(n-1, e[:]); err != nil {
			if isCorruption(err) {
				continue
			}
			return 0, err
		}
		if e[1] <= e[0] || e[1] > logLen {
			continue
		}
		if _, err := files.log.ReadAt(nl[:], e[1]-1); err != nil {
			return 0, fmt.Errorf("read %s at %d: %w", files.log.Name(), e[1]-1, err)
		}
		if nl[0] == '\n' {
			return n, nil
		}
	}
	return 0, nil
}

// noHoles is the holes argument of recoverRecordsLocked that makes every
// hole in the tail damage: no reboot since the indexes were written.
const noHoles = ^uint64(0)

// recoverRecordsLocked reads the log past the last indexed end. Complete,
// valid records that continue the chain were written by a writer that died
// before indexing them: it fsyncs the log and indexes them. The first line
// that is not one, and all after it, is a torn write that was never
// acknowledged: it truncates the log there and logs the cut. A complete
// record with a later seq after that line is damage, not a torn write,
// except after a reboot when the bad line's seq is past holes (the synced
// mark) and zero bytes lie between it and that record: a power loss may
// keep any subset of the pages written since the log's last fsync, and a
// page the disk never wrote reads as zeros (no record holds a zero byte).
// Every record from that line on was written after the last fsync that
// completed (an fsync makes all earlier writes durable, and one of them
// would have made the zeros a record), so none was acknowledged: the tail
// is cut there too.
func (l *EventLog) recoverRecordsLocked(ctx context.Context, files logFiles, n uint64, end int64, head sum.Hash, logLen int64, holes uint64) (uint64, int64, sum.Hash, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(files.log, end, logLen-end), 256<<10)
	var buf []byte
	var ends []int64
	flushed := n
	synced := false
	flush := func() error {
		if len(ends) == 0 {
			return nil
		}
		if !synced {
			if err := files.log.Sync(); err != nil {
				return fmt.Errorf("sync %s before indexing its tail: %w", files.log.Name(), err)
			}
			synced = true
		}
		if err := files.seq.appendEnds(flushed, ends); err != nil {
			return err
		}
		flushed += uint64(len(ends))
		ends = ends[:0]
		return nil
	}
	pos := end
	for {
		if err := ctx.Err(); err != nil {
			return 0, 0, sum.Hash{}, err
		}
		line, err := readLine(br, &buf)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errLineTooLong) {
			return 0, 0, sum.Hash{}, fmt.Errorf("read tail of %s at %d: %w", files.log.Name(), pos, err)
		}
		if err != nil {
			break
		}
		ev, err := l.verifyRecovered(line[:len(line)-1], pos, len(line)-1)
		if err != nil || ev.Seq != n+1 || ev.PrevHash != head {
			break
		}
		pos += int64(len(line))
		n, head = n+1, ev.Hash
		ends = append(ends, pos)
		if len(ends) == scanChunk {
			if err := flush(); err != nil {
				return 0, 0, sum.Hash{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, 0, sum.Hash{}, err
	}
	if n > 0 && pos > end {
		if err := files.seq.f.Sync(); err != nil {
			return 0, 0, sum.Hash{}, fmt.Errorf("sync %s: %w", files.seq.path, err)
		}
	}
	if pos < logLen {
		if at, found, err := recordAfter(files, pos, logLen, n+1); err != nil {
			return 0, 0, sum.Hash{}, err
		} else if found {
			// A torn write is the end of the file; valid records after the
			// bad line mean damage in the middle. Cutting would drop them,
			// unless they are an unsynced tail a reboot left with a hole.
			hole, err := zeroIn(files.log, pos, at)
			if err != nil {
				return 0, 0, sum.Hash{}, err
			}
			if !hole || n+1 <= holes || holes == noHoles {
				return 0, 0, sum.Hash{}, &store.CorruptionError{Path: files.log.Name(), Offset: pos, Seq: n + 1,
					Reason: fmt.Sprintf("invalid record followed by a valid record at offset %d: not a torn tail, so nothing is cut", at)}
			}
			l.logger.Warn("the unsynced tail of the log has a hole (pages a power loss did not write back): the records after it were never acknowledged",
				"path", files.log.Name(), "offset", pos, "seq", n+1, "synced", holes, "next_record", at)
		}
		if err := files.log.Truncate(pos); err != nil {
			return 0, 0, sum.Hash{}, fmt.Errorf("cut torn tail of %s: %w", files.log.Name(), err)
		}
		if err := files.log.Sync(); err != nil {
			return 0, 0, sum.Hash{}, fmt.Errorf("sync %s after cutting its tail: %w", files.log.Name(), err)
		}
		l.logger.Warn("cut a torn, unacknowledged tail off the log",
			"path", files.log.Name(), "offset", pos, "bytes", logLen-pos)
	}
	return n, pos, head, nil
}

// zeroIn reports whether the log's bytes [from, to) hold a zero byte.
func zeroIn(log *os.File, from, to int64) (bool, error) {
	buf := make([]byte, 64<<10)
	for off := from; off < to; {
		n, err := log.ReadAt(buf[:min(int64(len(buf)), to-off)], off)
		if bytes.IndexByte(buf[:n], 0) >= 0 {
			return true, nil
		}
		off += int64(n)
		if err != nil && off < to {
			return false, fmt.Errorf("read %s at %d: %w", log.Name(), off, err)
		}
	}
	return false, nil
}

// recordAfter reports whether, after the line at pos (the first invalid
// one, which should have held seq bad), a complete line decodes as a record
// that would come later in the chain (seq > bad), and where. A torn write
// leaves nothing like that: its incomplete record is the end of the file.
// A stray record that could not follow (a repeated or foreign seq) is not
// such evidence.
func recordAfter(files logFiles, pos, logLen int64, bad uint64) (int64, bool, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(files.log, pos, logLen-pos), 256<<10)
	off, first := pos, true
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(line) <= maxRecordLine {
				line = append(line, frag...)
			}
			off += int64(len(frag))
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, false, nil // only an incomplete line is left
			}
			return 0, false, fmt.Errorf("read tail of %s at %d: %w", files.log.Name(), off, err)
		}
		start := off - int64(len(line))
		line = append(line, frag...)
		off += int64(len(frag))
		if !first && len(line) <= maxRecordLine {
			if ev, err := event.DecodeRecord(line[:len(line)-1]); err == nil && ev.Seq > bad {
				return start, true, nil
			}
		}
		first, line = false, line[:0]
	}
}

// verifyRecovered verifies rec, the record at offset off of the log
// (without its '\n'; size its length before any padding was dropped, or
// -1 if unknown), as recovery accepts records: trailing spaces dropped and
// an erased body accepted (Verify checks that a tombstone names it). A
// record that does not verify is replaced by the erased record of the
// erase intent when the intent names exactly those bytes (intentRecord).
func (l *EventLog) verifyRecovered(rec []byte, off int64, size int) (event.Event, error) {
	ev, _, err := event.VerifyErasable(trimPad(rec))
	if err == nil {
		return ev, nil
	}
	irec, ok := l.intentRecord(off, size)
	if !ok {
		return ev, err
	}
	iev, _, ierr := event.VerifyErasable(irec)
	if ierr != nil {
		return ev, err
	}
	l.logger.Warn("a record an erase was overwriting is taken from the erase intent", "path", l.dir, "seq", iev.Seq, "offset", off)
	return iev, nil
}

// decodeRecovered is event.DecodeRecord for recovery's catch-up of the
// indexes: a record that does not decode is replaced by the erase
// intent's record when the intent names it (intentRecord).
func (l *EventLog) decodeRecovered(rec []byte, off int64) (event.Event, error) {
	ev, err := event.DecodeRecord(rec)
	if err == nil {
		return ev, nil
	}
	if irec, ok := l.intentRecord(off, -1); ok {
		if iev, ierr := event.DecodeRecord(irec); ierr == nil {
			return iev, nil
		}
	}
	return ev, err
}

// intentRecord returns the erased record (padding dropped) of the erase
// intent, if there is one and it names the record at offset off (of
// size bytes without its '\n', if size ≥ 0). A power loss while an erase
// overwrote that record may have left any mix of its old and new bytes;
// the intent's tombstone is committed by then, and finishing the erase
// (finishEraseLocked, after the tail repair) writes the record whole
// again, so until then recovery reads it from the intent.
func (l *EventLog) intentRecord(off int64, size int) ([]byte, bool) {
	b, err := os.ReadFile(l.path(erasingName))
	if err != nil {
		return nil, false // no intent (or none readable): the record is what it is
	}
	var in eraseIntent
	if json.Unmarshal(b, &in) != nil || in.Offset != off || (size >= 0 && len(in.Record) != size) {
		return nil, false
	}
	return trimPad([]byte(in.Record)), true
}
