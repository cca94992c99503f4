package eventlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"apie/event"
	"apie/internal/durable"
	"apie/store"
)

// TestErase: the body leaves the disk, the record keeps its length, the
// tombstone is appended, a second erase answers the same tombstone,
// Verify counts the erasure, and a retry of the erased eventId answers
// the erased event without appending.
func TestErase(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	secret := `{"email":"carol@example.com"}`
	res := mustAppend(t, l, clientDraft(uuidN(1), "user.signed.up", secret))
	mustAppend(t, l, draft("other", `{"x":1}`))
	target := res.Events[0]
	if target.BodySalt == "" {
		t.Fatal("a new event has no bodySalt")
	}
	before, _ := os.ReadFile(dir + "/log")

	er, err := l.Erase(context.Background(), target.Hash, "GDPR 17", "admin")
	if err != nil {
		t.Fatal(err)
	}
	tomb := er.Events[0]
	ts, ok := event.ParseTombstone(&tomb)
	if !ok || ts.Erased != target.Hash || ts.Seq != 1 || ts.Reason != "GDPR 17" || tomb.Seq != 3 || tomb.CreatedBy != "admin" {
		t.Fatalf("tombstone %+v (%+v)", tomb, ts)
	}
	after, _ := os.ReadFile(dir + "/log")
	if bytes.Contains(after, []byte("carol@example.com")) || bytes.Contains(after, []byte(target.BodySalt)) {
		t.Fatal("the body or its salt is still on disk")
	}
	lines := logLines(t, dir)
	if len(lines[0]) != bytes.IndexByte(before, '\n') {
		t.Fatalf("erased record is %d bytes, want %d", len(lines[0]), bytes.IndexByte(before, '\n'))
	}
	rec, err := l.Record(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, isErased, err := event.VerifyErasable(rec)
	if err != nil || !isErased || got.Hash != target.Hash || string(got.Body) != "null" {
		t.Fatalf("erased record %s: erased %v, %v", rec, isErased, err)
	}

	again, err := l.Erase(context.Background(), target.Hash, "other reason", "admin")
	if err != nil || again.Events[0].Hash != tomb.Hash {
		t.Fatalf("erase again: %v, %v; want the same tombstone", again.Events, err)
	}
	if mustHead(t, l).Seq != 3 {
		t.Fatal("erasing again appended")
	}
	rep := mustVerify(t, l)
	if rep.Erased != 1 || rep.Events != 3 {
		t.Fatalf("Verify: %+v, want 3 events, 1 erased", rep)
	}
	retry := mustAppend(t, l, clientDraft(uuidN(1), "user.signed.up", secret))
	if retry.Appended != 0 || retry.Events[0].Hash != target.Hash || string(retry.Events[0].Body) != "null" {
		t.Fatalf("retry of the erased event: %+v", retry)
	}
	if _, err := l.Erase(context.Background(), tomb.Hash, "x", "admin"); !errors.Is(err, store.ErrNotErasable) {
		t.Fatalf("erasing a tombstone: %v, want ErrNotErasable", err)
	}
	if _, err := l.Erase(context.Background(), event.Erase(tomb).Hash, "x", "admin"); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrNotErasable) {
		t.Fatal(err)
	}
	n, err := l.Erasures(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Erasures: %d, %v; want 1", n, err)
	}
}

// TestEraseImitationCaught: a body set to null by hand (no tombstone)
// keeps the chain intact but Verify names it.
func TestEraseImitationCaught(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	res := mustAppend(t, l, draft("t", `{"secret":"s"}`))
	mustAppend(t, l, draft("t", `{"x":1}`))
	ev := event.Erase(res.Events[0])
	erased := ev.Record()
	orig := res.Records[0]
	padded := append(erased, bytes.Repeat([]byte{' '}, len(orig)-len(erased))...)
	f, err := os.OpenFile(dir+"/log", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(padded, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = l.Verify(context.Background(), false)
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Seq != 1 || !strings.Contains(err.Error(), "no later apie.erased event") {
		t.Fatalf("Verify: %v, want damage at seq 1 naming the missing tombstone", err)
	}
}

// TestEraseCrashFinished plays a kill between the tombstone's commit and
// the overwrite (the intent durable, the record untouched) and between
// the intent and the tombstone: the next writer finishes the first and
// drops the second, and Verify passes either way.
func TestEraseCrashFinished(t *testing.T) {
	for _, withTombstone := range []bool{true, false} {
		dir := t.TempDir()
		l := openLog(t, testOpts(dir, nil))
		res := mustAppend(t, l, draft("t", `{"secret":"s"}`))
		target := res.Events[0]
		erasedEv := event.Erase(target)
		erased := erasedEv.Record()
		in := eraseIntent{Seq: 1, Offset: 0, Tombstone: event.TombstoneID(target.Hash),
			Record: string(erased) + strings.Repeat(" ", len(res.Records[0])-len(erased))}
		if withTombstone {
			l.w.erasing = true // as Erase does while it appends
			mustAppend(t, l, event.TombstoneDraft(target.Hash, 1, "r"))
			l.w.erasing = false
		}
		b, _ := json.Marshal(in)
		if err := durable.WriteFile(dir+"/"+erasingName, b, 0o640); err != nil {
			t.Fatal(err)
		}
		l.Close()
		l = openLog(t, testOpts(dir, nil)) // recovery on open
		if _, err := os.Stat(dir + "/" + erasingName); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("tombstone %v: the intent is left: %v", withTombstone, err)
		}
		rep := mustVerify(t, l)
		rec, _ := l.Record(context.Background(), 1)
		hasBody := bytes.Contains(rec, []byte(`"secret"`))
		if withTombstone == hasBody || (rep.Erased == 1) != withTombstone {
			t.Fatalf("tombstone %v: record %s, report %+v", withTombstone, rec, rep)
		}
		l.Close()
	}
}

// TestEraseReadersNeverTorn hammers reads (range, by seq, by hash) from
// other goroutines while bodies are erased: every record read is valid
// JSON and either the original or the erased form.
func TestEraseReadersNeverTorn(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	big := `{"p":"` + strings.Repeat("x", 20000) + `"}`
	var hashes []event.Event
	for i := 0; i < 20; i++ {
		hashes = append(hashes, mustAppend(t, l, draft("t", big)).Events[0])
	}
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	fail := make(chan string, 4)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r, err := l.Reader(ctx, 1, 20)
				if err != nil {
					fail <- err.Error()
					return
				}
				var all bytes.Buffer
				_, err = all.ReadFrom(r)
				r.Close()
				if err != nil {
					fail <- err.Error()
					return
				}
				for _, line := range bytes.Split(bytes.TrimSuffix(all.Bytes(), []byte("\n")), []byte("\n")) {
					if _, _, err := event.VerifyErasable(bytes.TrimRight(line, " ")); err != nil {
						fail <- "torn record in a range read: " + err.Error()
						return
					}
				}
				rec, err := l.Record(ctx, 7)
				if err == nil {
					_, _, err = event.VerifyErasable(rec)
				}
				if err != nil {
					fail <- "torn record: " + err.Error()
					return
				}
			}
		}()
	}
	for _, ev := range hashes {
		if _, err := l.Erase(ctx, ev.Hash, "r", "admin"); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(fail)
	for msg := range fail {
		t.Fatal(msg)
	}
	if rep := mustVerify(t, l); rep.Erased != 20 {
		t.Fatalf("Verify: %+v, want 20 erased", rep)
	}
}
