package eventlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"apie/event"
)

// Erase tests that stop an erase at each of its steps (eraseStep hooks).

var errDied = errors.New("the process died here")

// tornRead erases event 1 of a fresh log and, while the erased record is
// half written, reads it from another goroutine, both by seq and as a
// range. It returns the read records once the erase is done.
func tornRead(t *testing.T, noSeqlock bool) (byRecord, byRange []byte) {
	t.Helper()
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	target := mustAppend(t, l, draft("t", `{"p":"`+strings.Repeat("x", 4000)+`"}`)).Events[0]
	mustAppend(t, l, draft("t", `{"x":1}`))
	ctx := context.Background()

	type result struct {
		b   []byte
		err error
	}
	type readerKey struct{}
	recCh, rangeCh := make(chan result, 1), make(chan result, 1)
	waits := map[chan result]chan struct{}{recCh: make(chan struct{}), rangeCh: make(chan struct{})}
	var waitOnce sync.Map
	l.hooks.readerWaits = func(ctx context.Context) {
		ch := ctx.Value(readerKey{}).(chan result)
		if once, _ := waitOnce.LoadOrStore(ch, new(sync.Once)); once != nil {
			once.(*sync.Once).Do(func() { close(waits[ch]) })
		}
	}
	l.hooks.noSeqlock = noSeqlock
	readers := map[chan result]func(ctx context.Context) ([]byte, error){
		recCh: func(ctx context.Context) ([]byte, error) { return l.Record(ctx, 1) },
		rangeCh: func(ctx context.Context) ([]byte, error) {
			r, err := l.Reader(ctx, 1, 1)
			if err != nil {
				return nil, err
			}
			defer r.Close()
			return io.ReadAll(r)
		},
	}
	var once sync.Once
	l.hooks.eraseStep = func(s eraseStep) error {
		if s != eraseHalfWritten {
			return nil
		}
		once.Do(func() {
			// Each reader either finishes now (it read the half-written
			// record) or waits for the overwrite; only then does the
			// erase go on.
			for ch, read := range readers {
				go func() {
					b, err := read(context.WithValue(ctx, readerKey{}, ch))
					ch <- result{b, err}
				}()
				select {
				case r := <-ch:
					ch <- r
				case <-waits[ch]:
				}
			}
		})
		return nil
	}
	if _, err := l.Erase(ctx, target.Hash, "r", "admin"); err != nil {
		t.Fatal(err)
	}
	r1, r2 := <-recCh, <-rangeCh
	if r1.err != nil || r2.err != nil {
		t.Fatalf("reads: %v, %v", r1.err, r2.err)
	}
	return r1.b, bytes.TrimRight(bytes.TrimSuffix(r2.b, []byte("\n")), " ")
}

// TestEraseReadersWaitForOverwrite: a reader that comes while an erase
// has written half the erased record (the overwrite split in two
// pwrites) reads the whole erased record, by seq and in a range read,
// never the torn one: the erase generation makes it wait.
func TestEraseReadersWaitForOverwrite(t *testing.T) {
	byRecord, byRange := tornRead(t, false)
	for name, rec := range map[string][]byte{"by seq": byRecord, "range": byRange} {
		ev, erased, err := event.VerifyErasable(rec)
		if err != nil || !erased || string(ev.Body) != "null" {
			t.Errorf("%s read %.80q…: erased %v, %v; want the erased record", name, rec, erased, err)
		}
	}
}

// TestEraseTornWithoutSeqlock shows that the test above can fail: with
// the readers' erase-generation check switched off, the same reads see
// the half-written record.
func TestEraseTornWithoutSeqlock(t *testing.T) {
	byRecord, byRange := tornRead(t, true)
	for name, rec := range map[string][]byte{"by seq": byRecord, "range": byRange} {
		if _, _, err := event.VerifyErasable(rec); err == nil {
			t.Errorf("%s read %.80q… is whole: the overwrite did not overlap the read", name, rec)
		}
	}
}

// TestEraseDiesAtEachStep stops an erase at each step, as a kill would,
// and reopens the log: before its tombstone is committed the event keeps
// its body, no tombstone and no intent is left; from then on the erase
// is finished, so the tombstone is never without the erased record.
// Verify passes either way, and erasing again answers one tombstone.
func TestEraseDiesAtEachStep(t *testing.T) {
	for _, step := range []eraseStep{eraseIntentWritten, eraseTombstoned, eraseHalfWritten, eraseOverwritten} {
		dir := t.TempDir()
		l := openLog(t, testOpts(dir, nil))
		target := mustAppend(t, l, draft("t", `{"secret":"carol@example.com"}`)).Events[0]
		mustAppend(t, l, draft("t", `{"x":1}`))
		l.hooks.eraseStep = func(s eraseStep) error {
			if s == step {
				return errDied
			}
			return nil
		}
		if _, err := l.Erase(context.Background(), target.Hash, "r", "admin"); !errors.Is(err, errDied) {
			t.Fatalf("step %d: Erase: %v, want it stopped", step, err)
		}
		l.Close()

		l = openLog(t, testOpts(dir, nil)) // a new process: recovery on open
		if _, err := os.Stat(dir + "/" + erasingName); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("step %d: the intent is left: %v", step, err)
		}
		raw, _ := os.ReadFile(dir + "/log")
		hasBody := bytes.Contains(raw, []byte("carol@example.com"))
		_, _, _, terr := l.findTombstone(context.Background(), event.TombstoneID(target.Hash))
		hasTomb := terr == nil
		wantErased := step != eraseIntentWritten
		if hasBody == wantErased || hasTomb != wantErased {
			t.Fatalf("step %d: body on disk %v, tombstone %v; want erased %v", step, hasBody, hasTomb, wantErased)
		}
		rep := mustVerify(t, l)
		if (rep.Erased == 1) != wantErased {
			t.Fatalf("step %d: Verify %+v", step, rep)
		}
		res, err := l.Erase(context.Background(), target.Hash, "again", "admin")
		if err != nil {
			t.Fatalf("step %d: erase again: %v", step, err)
		}
		if rep := mustVerify(t, l); rep.Erased != 1 || rep.Events != 3 || res.Events[0].Seq != 3 {
			t.Fatalf("step %d: after erasing again: %+v, tombstone seq %d", step, rep, res.Events[0].Seq)
		}
		l.Close()
	}
}
