package eventlog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"apie/event"
	"apie/store"
)

// TestUnsyncedTailWithHoleAfterReboot: a power loss may keep any subset
// of the pages written to the log since its last fsync, so a group commit
// that died before its fsync can leave a page of zeros where its first
// records began and whole records after it. None of them was acknowledged
// (an answer follows the fsync), so after the reboot the first writer cuts
// the log at the hole, as a torn tail, instead of calling it damage and
// refusing every append.
func TestUnsyncedTailWithHoleAfterReboot(t *testing.T) {
	const synced, total = 10, 16
	for _, tc := range []struct {
		name string
		seq  int // the record whose bytes were not written back
		lost func(rec []byte) (from, to int)
	}{
		{"the first unsynced record's start", synced + 1, func(rec []byte) (int, int) { return 0, len(rec) / 2 }},
		{"a later record's end and newline", synced + 3, func(rec []byte) (int, int) { return len(rec) / 2, len(rec) + 1 }},
		{"a whole record", synced + 2, func(rec []byte) (int, int) { return 0, len(rec) + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(dir, nil)
			opts.bootID = func() string { return "boot-A" }
			l := openLog(t, opts)
			hs := appendN(t, l, synced)
			appendN(t, l, total-synced) // the disk will keep only part of these
			l.closeFiles()              // the machine died

			lines := logLines(t, dir)
			off := 0
			for _, line := range lines[:tc.seq-1] {
				off += len(line) + 1
			}
			from, to := tc.lost(lines[tc.seq-1])
			log, err := os.ReadFile(filepath.Join(dir, logDataName))
			if err != nil {
				t.Fatal(err)
			}
			copy(log[off+from:off+to], make([]byte, to-from))
			if err := os.WriteFile(filepath.Join(dir, logDataName), log, 0o640); err != nil {
				t.Fatal(err)
			}
			// seq.idx is written after the log's fsync: the unsynced
			// records never had entries.
			if err := os.Truncate(filepath.Join(dir, seqIdxName), 8*synced); err != nil {
				t.Fatal(err)
			}
			keptEnd := 0
			for _, line := range lines[:tc.seq-1] {
				keptEnd += len(line) + 1
			}

			rec := &logRecorder{}
			opts = testOpts(dir, rec)
			opts.bootID = func() string { return "boot-B" }
			after := openLog(t, opts)
			if _, err := os.Stat(filepath.Join(dir, damagedName)); err == nil {
				b, _ := os.ReadFile(filepath.Join(dir, damagedName))
				t.Fatalf("an unsynced tail written back out of order was recorded as damage: %s\nlog:\n%s", b, rec)
			}
			if h := mustHead(t, after); h.Seq != uint64(tc.seq-1) {
				t.Fatalf("Head = seq %d, want %d (the records before the hole, which are whole and linked)", h.Seq, tc.seq-1)
			}
			if fi, err := os.Stat(filepath.Join(dir, logDataName)); err != nil || fi.Size() != int64(keptEnd) {
				t.Fatalf("log is %v bytes (%v), want %d: cut at the hole", fi.Size(), err, keptEnd)
			}
			if !rec.contains("unsynced tail") {
				t.Fatalf("the cut was not logged:\n%s", rec)
			}
			res := mustAppend(t, after, draft("t", `{"after":"reboot"}`))
			if res.Events[0].Seq != uint64(tc.seq) {
				t.Fatalf("the next append got seq %d, want %d", res.Events[0].Seq, tc.seq)
			}
			if r := mustVerify(t, after); r.Events != uint64(tc.seq) {
				t.Fatalf("Verify: %d events, want %d", r.Events, tc.seq)
			}
			for seq := 1; seq < tc.seq; seq++ {
				got, err := after.Record(context.Background(), uint64(seq))
				if err != nil || !bytes.Equal(got, lines[seq-1]) {
					t.Fatalf("Record(%d) = %.60q, %v; want the record written before the power loss", seq, got, err)
				}
			}
			if h, err := after.Record(context.Background(), synced); err != nil || !bytes.Contains(h, []byte(hs[synced-1].String())) {
				t.Fatalf("Record(%d) = %.80q, %v: not the event appended", synced, h, err)
			}
		})
	}
}

// TestHoleBeforeSyncedIsDamage: zeros inside the records an index header
// says were synced are not an unsynced tail (the disk lost what it said
// it had written): after a reboot that is still damage, and nothing is
// cut. So is a hole of zeros found without a reboot (a killed process
// loses nothing from the page cache), and a record that is wrong but
// holds no zeros.
func TestHoleBeforeSyncedIsDamage(t *testing.T) {
	for _, tc := range []struct {
		name       string
		checkpoint bool // the records are covered by the synced mark
		sameBoot   bool
		fill       byte // what replaces part of record 3
	}{
		{"zeros in synced records", true, false, 0},
		{"zeros in the same boot", false, true, 0},
		{"a changed byte, not a hole", false, false, 'x'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(dir, nil)
			opts.bootID = func() string { return "boot-A" }
			l := openLog(t, opts)
			appendN(t, l, 6)
			if tc.checkpoint {
				if err := l.Checkpoint(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			l.closeFiles()
			lines := logLines(t, dir)
			off := len(lines[0]) + len(lines[1]) + 2
			log, err := os.ReadFile(filepath.Join(dir, logDataName))
			if err != nil {
				t.Fatal(err)
			}
			copy(log[off+10:off+30], bytes.Repeat([]byte{tc.fill}, 20))
			if err := os.WriteFile(filepath.Join(dir, logDataName), log, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(filepath.Join(dir, seqIdxName), 8*2); err != nil {
				t.Fatal(err)
			}
			rec := &logRecorder{}
			opts = testOpts(dir, rec)
			opts.bootID = func() string { return "boot-B" }
			if tc.sameBoot {
				opts.bootID = func() string { return "boot-A" }
			}
			after := openLog(t, opts)
			if fi, err := os.Stat(filepath.Join(dir, logDataName)); err != nil || fi.Size() != int64(len(log)) {
				t.Fatalf("log cut to %v bytes (%v), want %d kept:\n%s", fi.Size(), err, len(log), rec)
			}
			_, err = after.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{draft("t", "1")}})
			var ce *store.CorruptionError
			if !errors.As(err, &ce) || ce.Seq != 3 {
				t.Fatalf("Append: got %v, want a *store.CorruptionError at seq 3\n%s", err, rec)
			}
		})
	}
}
