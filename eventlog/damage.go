package eventlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"apie/event"
	"apie/internal/durable"
	"apie/store"
)

// The damage marker: damage found anywhere in the log (not a torn tail)
// is written down in the file "damaged" of the log's directory (see
// doc.go), so that every process sharing the directory, the CGI ones
// included, refuses appends until a Verify passes, which removes it.

// damagedName is the marker's name in the log directory.
const damagedName = "damaged"

// damageMarkerMax bounds how much of a marker is read: a longer file is
// still a marker, but only its start is shown.
const damageMarkerMax = 4096

// damageRecord is the marker's content, one JSON object and '\n'.
type damageRecord struct {
	File   string `json:"file"`   // base name of the damaged file in the log directory
	Offset int64  `json:"offset"` // byte offset in File, -1 if unknown
	Seq    uint64 `json:"seq"`    // the damaged event's seq, 0 if unknown
	Reason string `json:"reason"` // what is wrong there
	Found  string `json:"found"`  // when, RFC 3339 in UTC
	By     string `json:"by"`     // what found it: open, append, read, verify or scrub
}

// What found damage, as the marker's "by" says.
const (
	foundByWriter = "append" // the writer's tail check, on open or before an append
	foundByRead   = "read"
	foundByVerify = "verify"
	foundByScrub  = "scrub"
)

// readDamage reads the marker. It returns nil, nil, nil when there is
// none; otherwise the *store.CorruptionError that appends return while it
// exists, and its bytes.
func (l *EventLog) readDamage() (*store.CorruptionError, []byte, error) {
	b, err := readFileMax(l.path(damagedName), damageMarkerMax)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read damage marker: %w", err)
	}
	var d damageRecord
	if err := json.Unmarshal(bytes.TrimSpace(b), &d); err != nil || d.File == "" || d.File != filepath.Base(d.File) {
		return &store.CorruptionError{Path: l.path(damagedName), Offset: -1,
			Reason: fmt.Sprintf("damage is recorded, but the marker %q is not readable; appends are refused until verify passes", b)}, b, nil
	}
	return &store.CorruptionError{Path: l.path(d.File), Offset: d.Offset, Seq: d.Seq,
		Reason: fmt.Sprintf("%s (found by %s at %s; appends are refused until verify passes)", d.Reason, d.By, d.Found)}, b, nil
}

// readFileMax reads up to max bytes of the file at path.
func readFileMax(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, max)
	n, err := f.Read(b)
	if n > 0 {
		return b[:n], nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:0], nil
}

// checkDamageLocked returns the marker's error if there is a marker. It
// costs one failing open(2), or nothing when the writer's directory
// watch shows the marker's name untouched since it last looked. The
// caller holds the writer lock.
func (l *EventLog) checkDamageLocked() error {
	if l.w.damageKnown && l.w.watch != nil && !l.w.watch.changed(watchDamage) {
		return l.w.damage
	}
	l.w.damageKnown = false
	watched := l.w.watch != nil
	if watched {
		l.w.watch.changed(watchDamage) // what follows reads the marker after every change queued so far
	}
	ce, _, err := l.readDamage()
	if err != nil {
		return err
	}
	l.w.damage = nil
	if ce != nil {
		l.w.damage = ce
	}
	l.w.damageKnown = watched
	return l.w.damage
}

// recordDamageLocked writes the marker for ce, found by by, unless a
// marker already names an earlier (or the same) seq. If it cannot be
// written the damage is remembered by this *EventLog alone (appends
// refused until reopened). The caller holds the writer lock.
func (l *EventLog) recordDamageLocked(ce *store.CorruptionError, by string) {
	old, oldBytes, err := l.readDamage()
	if err == nil && old != nil && oldBytes != nil && old.Seq != 0 && (ce.Seq == 0 || old.Seq <= ce.Seq) {
		return
	}
	rel, err := filepath.Rel(l.dir, ce.Path)
	if err != nil || rel != filepath.Base(rel) {
		rel = logDataName
	}
	d := damageRecord{File: rel, Offset: ce.Offset, Seq: ce.Seq, Reason: why(ce),
		Found: time.Now().UTC().Format(time.RFC3339), By: by}
	b, err := json.Marshal(d)
	if err == nil {
		err = durable.WriteFile(l.path(damagedName), append(b, '\n'), l.fileMode)
	}
	l.w.damageKnown = false
	if err != nil {
		l.w.sticky = ce
		l.logger.Error("event log is damaged, and the damage marker could not be written: only this process refuses appends",
			"path", l.dir, "damage", ce, "err", err)
		return
	}
	l.logger.Error("event log is damaged; every process refuses appends until verify passes",
		"path", l.dir, "found_by", by, "err", ce, "marker", l.path(damagedName))
}

// clearDamageLocked removes the marker if its bytes are still seen (a
// marker written since, by another finder, is kept). The caller holds the
// writer lock.
func (l *EventLog) clearDamageLocked(seen []byte) error {
	_, now, err := l.readDamage()
	if err != nil || now == nil {
		return err
	}
	if !bytes.Equal(now, seen) {
		l.logger.Warn("new damage was recorded while verify ran; keeping the damage marker", "path", l.path(damagedName))
		return nil
	}
	if err := os.Remove(l.path(damagedName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove damage marker: %w", err)
	}
	l.w.damageKnown = false
	if err := durable.SyncDir(l.dir); err != nil {
		return err
	}
	l.logger.Info("verify passed: removed the damage marker; appends are accepted again", "path", l.path(damagedName))
	return nil
}

// noteDamage records damage a reader met (err, if a *store.CorruptionError
// naming a seq), after confirming it under the writer lock: the reader
// took no lock, so what it saw might be a tail that a writer was
// repairing. It does nothing if a marker exists already.
func (l *EventLog) noteDamage(ctx context.Context, err error) {
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Seq == 0 {
		return
	}
	if _, err := os.Stat(l.path(damagedName)); err == nil {
		return
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	unlock, err := durable.Lock(ctx, l.path(logLockName), l.fileMode)
	if err != nil {
		l.logger.Warn("a read met damage, but the writer lock to record it was not taken", "path", l.dir, "damage", ce, "err", err)
		return
	}
	defer unlock()
	if err := l.prepareLocked(ctx); err != nil {
		return // refusing already, or the tail check recorded what it found
	}
	if err := l.confirmRecordLocked(ce.Seq); err != nil {
		var found *store.CorruptionError
		if errors.As(err, &found) {
			l.recordDamageLocked(found, foundByRead)
		}
	}
}

// confirmRecordLocked checks committed record seq as Verify would: its
// bytes against the hash rule, its seq and its link to the record before.
// A seq past the committed ones is not checked. The caller holds the
// writer lock and has run prepareLocked.
func (l *EventLog) confirmRecordLocked(seq uint64) error {
	if seq == 0 || seq > l.w.n {
		return nil
	}
	files := l.files
	rec, start, err := readRecord(files, seq)
	if err != nil {
		return err
	}
	ev, _, err := event.VerifyErasable(rec)
	if err == nil && ev.Seq != seq {
		err = fmt.Errorf("record holds seq %d", ev.Seq)
	}
	if err != nil {
		return &store.CorruptionError{Path: files.log.Name(), Offset: start, Seq: seq, Reason: err.Error()}
	}
	if seq == 1 {
		return nil
	}
	prev, _, err := readRecord(files, seq-1)
	if err != nil {
		return err
	}
	pev, _, err := event.VerifyErasable(prev)
	if err != nil {
		return &store.CorruptionError{Path: files.log.Name(), Offset: -1, Seq: seq - 1, Reason: err.Error()}
	}
	if ev.PrevHash != pev.Hash {
		return &store.CorruptionError{Path: files.log.Name(), Offset: start, Seq: seq,
			Reason: fmt.Sprintf("prevHash %s does not link to the hash %s of the event before", ev.PrevHash, pev.Hash)}
	}
	return nil
}

// why says what is wrong in ce for the damage marker: its reason, its
// cause, or both.
func why(ce *store.CorruptionError) string {
	switch {
	case ce.Err == nil:
		return ce.Reason
	case ce.Reason == "":
		return ce.Err.Error()
	}
	return ce.Reason + ": " + ce.Err.Error()
}
