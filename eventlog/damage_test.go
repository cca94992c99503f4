package eventlog

import (
	"apie/store"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// damageRecordAt rewrites the log file in place (same inode, as a bit
// flip on disk would) with record seq changed by change, which gets the
// record's bytes without '\n'.
func damageRecordAt(t testing.TB, dir string, seq int, change func(rec []byte)) (orig []byte) {
	t.Helper()
	path := filepath.Join(dir, logDataName)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(orig)
	start := 0
	for i := 1; i < seq; i++ {
		start += bytes.IndexByte(b[start:], '\n') + 1
	}
	end := start + bytes.IndexByte(b[start:], '\n')
	change(b[start:end])
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return orig
}

// changeHash changes the first hex digit of a record's hash: the record
// stays well-formed but fails the hash rule.
func changeHash(rec []byte) {
	i := bytes.Index(rec, []byte(`"hash":"`)) + len(`"hash":"`)
	if rec[i] == '0' {
		rec[i] = '1'
	} else {
		rec[i] = '0'
	}
}

// restoreLog writes the log's original bytes back in place.
func restoreLog(t testing.TB, dir string, orig []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, logDataName), orig, 0o640); err != nil {
		t.Fatal(err)
	}
}

// readMarker returns the damage marker, or ok false if there is none.
func readMarker(t testing.TB, dir string) (d damageRecord, ok bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, damagedName))
	if errors.Is(err, os.ErrNotExist) {
		return d, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &d); err != nil || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Fatalf("damage marker %q is not one JSON object and a newline: %v", b, err)
	}
	return d, true
}

// mustRefuse checks that an append fails with a *store.CorruptionError naming seq.
func mustRefuse(t testing.TB, l *EventLog, seq uint64) {
	t.Helper()
	_, err := l.Append(context.Background(), store.AppendRequest{Drafts: appendDrafts(1)})
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Seq != seq {
		t.Fatalf("append on a log with damage at seq %d: got %v, want a *store.CorruptionError naming that seq", seq, err)
	}
}

// TestDamageMarkerShared: damage in the middle of the log that Verify
// finds is recorded on disk, so a log opened afterwards (another process,
// a CGI request) refuses appends while reads go on; once the log is
// restored, a Verify that passes removes the marker and both accept
// appends again.
func TestDamageMarkerShared(t *testing.T) {
	dir := t.TempDir()
	first := openLog(t, testOpts(dir, nil))
	hs := appendN(t, first, 10)
	orig := damageRecordAt(t, dir, 5, changeHash)

	_, err := first.Verify(context.Background(), false)
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Seq != 5 {
		t.Fatalf("Verify of a log damaged at seq 5: got %v", err)
	}
	d, ok := readMarker(t, dir)
	if !ok || d.Seq != 5 || d.File != logDataName || d.By != foundByVerify || d.Offset <= 0 || d.Reason == "" {
		t.Fatalf("damage marker after Verify: got %+v (present %v), want seq 5 in %s found by verify", d, ok, logDataName)
	}
	if _, err := time.Parse(time.RFC3339, d.Found); err != nil {
		t.Fatalf("damage marker time %q: %v", d.Found, err)
	}

	rec := &logRecorder{}
	second := openLog(t, testOpts(dir, rec))
	mustRefuse(t, second, 5)
	mustRefuse(t, first, 5)
	if head := mustHead(t, second); head.Seq != 10 || head.Hash != hs[9] {
		t.Fatalf("head of a damaged log: got %+v, want seq 10", head)
	}
	if seq, err := second.Lookup(context.Background(), hs[8]); err != nil || seq != 9 {
		t.Fatalf("Lookup of an intact event: got %d, %v", seq, err)
	}

	restoreLog(t, dir, orig)
	mustVerify(t, second)
	if _, ok := readMarker(t, dir); ok {
		t.Fatalf("the damage marker is still there after a Verify that passed")
	}
	if !rec.contains("removed the damage marker") {
		t.Fatalf("removing the marker was not logged:\n%s", rec)
	}
	appendN(t, first, 1)
	appendN(t, second, 1)
	checkChain(t, second, 12, hs)
}

// TestDamageMarkerWatched: a writer that watches its directory (after
// two group commits) sees a marker another process writes, and its
// removal, without reopening.
func TestDamageMarkerWatched(t *testing.T) {
	dir := t.TempDir()
	writer := openLog(t, testOpts(dir, nil))
	appendN(t, writer, 10)
	orig := damageRecordAt(t, dir, 3, changeHash)
	other := openLog(t, testOpts(dir, nil))
	if _, err := other.Verify(context.Background(), false); !isCorruption(err) {
		t.Fatalf("Verify of a damaged log: got %v, want a *store.CorruptionError", err)
	}
	mustRefuse(t, writer, 3)
	mustRefuse(t, writer, 3) // the cached answer
	restoreLog(t, dir, orig)
	mustVerify(t, other)
	appendN(t, writer, 2)
	checkChain(t, writer, 12, nil)
}

// TestDamageMarkerKeepsFirst: a marker naming an earlier seq is kept
// when later damage is found; damage at an earlier seq replaces it.
func TestDamageMarkerKeepsFirst(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	appendN(t, l, 10)
	damageRecordAt(t, dir, 7, changeHash)
	if _, err := l.Verify(context.Background(), false); !isCorruption(err) {
		t.Fatalf("Verify: got %v", err)
	}
	record := func(seq uint64) {
		l.wmu.Lock()
		defer l.wmu.Unlock()
		l.recordDamageLocked(&store.CorruptionError{Path: l.path(logDataName), Offset: -1, Seq: seq, Reason: "test"}, foundByRead)
	}
	record(9)
	if d, _ := readMarker(t, dir); d.Seq != 7 {
		t.Fatalf("after damage at seq 9 was noted: the marker names seq %d, want 7 kept", d.Seq)
	}
	record(2)
	if d, _ := readMarker(t, dir); d.Seq != 2 || d.By != foundByRead {
		t.Fatalf("after damage at seq 2 was noted: the marker is %+v, want seq 2 found by read", d)
	}
}

// TestDamageMarkerUnreadable: a marker that is not what apie writes
// still refuses appends, and names itself.
func TestDamageMarkerUnreadable(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	appendN(t, l, 2)
	if err := os.WriteFile(filepath.Join(dir, damagedName), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := l.Append(context.Background(), store.AppendRequest{Drafts: appendDrafts(1)})
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Path != filepath.Join(dir, damagedName) {
		t.Fatalf("append with an unreadable marker: got %v, want a *store.CorruptionError naming the marker", err)
	}
	mustVerify(t, l)
	appendN(t, l, 1)
}

// TestReadRecordsDamage: a lookup that meets a record that is not a
// record records the damage, after checking it under the writer lock.
func TestReadRecordsDamage(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	hs := appendN(t, l, 10)
	damageRecordAt(t, dir, 4, func(rec []byte) { rec[0] = '[' })
	if _, err := l.Lookup(context.Background(), hs[3]); !isCorruption(err) {
		t.Fatalf("Lookup of a damaged record: got %v, want a *store.CorruptionError", err)
	}
	if d, ok := readMarker(t, dir); !ok || d.Seq != 4 || d.By != foundByRead {
		t.Fatalf("after a read met damage at seq 4: marker %+v (present %v)", d, ok)
	}
	mustRefuse(t, openLog(t, testOpts(dir, nil)), 4)
}

// TestScrub: Scrub finds damage anywhere in the log and records it, and
// passes on a sound log without touching a marker; it stops when its
// context is done even at a rate that would take hours.
func TestScrub(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	big := fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 8<<10))
	for range 20 {
		mustAppend(t, l, draft("big", big))
	}
	rep, err := l.Scrub(context.Background(), 0)
	if err != nil || rep.Events != 20 {
		t.Fatalf("Scrub of a sound log: got %+v, %v", rep, err)
	}
	if _, ok := readMarker(t, dir); ok {
		t.Fatalf("a Scrub that passed wrote a damage marker")
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := l.Scrub(ctx, 1) // one byte a second: hours for this log
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Scrub: got %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Scrub did not stop when its context was cancelled")
	}

	damageRecordAt(t, dir, 17, changeHash)
	_, err = l.Scrub(context.Background(), 0)
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Seq != 17 {
		t.Fatalf("Scrub of a log damaged at seq 17: got %v", err)
	}
	if d, ok := readMarker(t, dir); !ok || d.Seq != 17 || d.By != foundByScrub {
		t.Fatalf("after Scrub found damage at seq 17: marker %+v (present %v)", d, ok)
	}
	mustRefuse(t, l, 17)
}

// TestPacer: the pacer lets the first bytes through at once and keeps a
// long run under its rate.
func TestPacer(t *testing.T) {
	const rate = 4 << 20
	pace := newPacer(context.Background(), rate)
	start := time.Now()
	for range 16 {
		if err := pace(64 << 10); err != nil {
			t.Fatal(err)
		}
	}
	// 1 MiB at 4 MiB/s: at least 250 ms (a slow machine only adds time).
	if took := time.Since(start); took < 240*time.Millisecond {
		t.Fatalf("1 MiB at 4 MiB/s took %v, want at least 250ms", took)
	}
}
