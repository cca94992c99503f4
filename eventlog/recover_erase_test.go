package eventlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"apie/event"
)

// TestRecoverCutEveryOffsetErase cuts the log at every byte offset of an
// erase's tombstone, with its intent present and the erased record not
// yet written (an erase killed during its tombstone append), with and
// without the tombstone's seq.idx entry, and reopens: a complete
// tombstone finishes the erase (body gone, Verify counts it); any cut
// tombstone is dropped with the intent and the body kept. Never a
// tombstone without the erasure, never an intent left, and Verify passes.
func TestRecoverCutEveryOffsetErase(t *testing.T) {
	const n = 4
	src := t.TempDir()
	l := openLog(t, testOpts(src, nil))
	var evs []event.Event
	for i := range n {
		evs = append(evs, mustAppend(t, l, draft("t", fmt.Sprintf(`{"secret":"s%d@example.com"}`, i))).Events[0])
	}
	target := evs[1]
	l.hooks.eraseStep = func(s eraseStep) error {
		if s == eraseTombstoned {
			return errDied
		}
		return nil
	}
	if _, err := l.Erase(context.Background(), target.Hash, "r", "admin"); !errors.Is(err, errDied) {
		t.Fatalf("Erase: %v, want it stopped after the tombstone", err)
	}
	l.Close()
	files := readLogDir(t, src)
	if _, ok := files[erasingName]; !ok {
		t.Fatal("no intent after the tombstone")
	}
	end := int64(len(files[logDataName]))
	start := int64(bytes.LastIndexByte(files[logDataName][:end-1], '\n') + 1)

	dir := t.TempDir()
	for _, keepEntry := range []bool{false, true} {
		for cut := start; cut <= end; cut++ {
			seqLen := int64(len(files[seqIdxName]))
			if !keepEntry {
				seqLen = 8 * n
			}
			writeLogDir(t, dir, files, map[string]int64{logDataName: cut, seqIdxName: seqLen})
			l := openLog(t, testOpts(dir, nil))
			erased := cut == end
			name := fmt.Sprintf("entry=%v/cut=%d", keepEntry, cut)
			if _, err := os.Stat(filepath.Join(dir, erasingName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s: the intent is left: %v", name, err)
			}
			raw, _ := os.ReadFile(filepath.Join(dir, logDataName))
			if bytes.Contains(raw, []byte("s1@example.com")) == erased {
				t.Fatalf("%s: body on disk %v, want erased %v", name, !erased, erased)
			}
			rep := mustVerify(t, l)
			want := uint64(n)
			if erased {
				want = n + 1
			}
			if rep.Events != want || (rep.Erased == 1) != erased {
				t.Fatalf("%s: Verify %+v, want %d events, erased %v", name, rep, want, erased)
			}
			rec, err := l.Record(context.Background(), 2)
			if err != nil || bytes.HasPrefix(rec, []byte(`{"body":null`)) != erased {
				t.Fatalf("%s: record 2: %s, %v", name, rec, err)
			}
			l.Close()
		}
	}
}
