package eventlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestSeqIdxHoleAfterReboot: seq.idx is fsync'd only at checkpoints, so a
// power loss can keep any subset of its later writes: a hole of zeros in
// the middle of the file, past the synced mark, with valid entries after
// it. The first writer after the reboot rebuilds those entries from the
// log, so every read by seq returns its own record.
func TestSeqIdxHoleAfterReboot(t *testing.T) {
	const synced, total = 10, 30
	for _, tc := range []struct {
		name     string
		from, to int // entries [from, to] (1-based seqs) read as zeros
	}{
		{"hole in the middle", 15, 20},
		{"first unsynced entry", synced + 1, synced + 1},
		{"one before the last", total - 1, total - 1},
		{"every unsynced entry but the last", synced + 1, total - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOpts(dir, nil)
			opts.bootID = func() string { return "boot-A" }
			l := openLog(t, opts)
			hs := appendN(t, l, synced)
			if err := l.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			hs = append(hs, appendN(t, l, total-synced)...)
			l.closeFiles() // the machine died: no checkpoint
			want := logLines(t, dir)

			// What the disk kept of seq.idx: the synced entries, and of the
			// later ones all but a run of zeros.
			f, err := os.OpenFile(filepath.Join(dir, seqIdxName), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			hole := make([]byte, 8*(tc.to-tc.from+1))
			if _, err := f.WriteAt(hole, int64(8*(tc.from-1))); err != nil {
				t.Fatal(err)
			}
			f.Close()

			rec := &logRecorder{}
			opts = testOpts(dir, rec)
			opts.bootID = func() string { return "boot-B" }
			after := openLog(t, opts)
			for seq := uint64(1); seq <= total; seq++ {
				got, err := after.Record(context.Background(), seq)
				if err != nil {
					t.Fatalf("Record(%d): %v\nlog:\n%s", seq, err, rec)
				}
				if !bytes.Equal(got, want[seq-1]) {
					t.Fatalf("Record(%d) = %.60q…, want %.60q…", seq, got, want[seq-1])
				}
			}
			if got := readAll(t, after, 1, total); !bytes.Equal(got, append(bytes.Join(want, []byte("\n")), '\n')) {
				t.Fatalf("Reader(1, %d) does not return the log", total)
			}
			if h := mustHead(t, after); h.Seq != total || h.Hash != hs[total-1] {
				t.Fatalf("Head = %+v, want seq %d hash %s", h, total, hs[total-1])
			}
			checkChain(t, after, total, hs)
			if !rec.contains("rebuilt the unsynced seq.idx entries", "synced=10") {
				t.Fatalf("the rebuild was not logged:\n%s", rec)
			}
			if _, err := os.Stat(filepath.Join(dir, damagedName)); err == nil {
				t.Fatalf("a lost unsynced seq.idx entry was recorded as damage:\n%s", rec)
			}
		})
	}
}

// TestSeqIdxSameBootNotRebuilt: within the boot that wrote seq.idx (a
// killed process, not a power loss) the page cache kept every entry, and
// opening reads no records to check them.
func TestSeqIdxSameBootNotRebuilt(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(dir, nil)
	opts.bootID = func() string { return "boot-A" }
	l := openLog(t, opts)
	appendN(t, l, 5)
	l.closeFiles()

	rec := &logRecorder{}
	opts = testOpts(dir, rec)
	opts.bootID = func() string { return "boot-A" }
	openLog(t, opts)
	if rec.contains("rebuilt the unsynced seq.idx entries") {
		t.Fatalf("same boot: seq.idx was rebuilt:\n%s", rec)
	}

	rec = &logRecorder{}
	opts = testOpts(dir, rec)
	opts.bootID = func() string { return "boot-B" }
	openLog(t, opts)
	if !rec.contains("rebuilt the unsynced seq.idx entries", "synced=0") {
		t.Fatalf("after a reboot: seq.idx was not checked:\n%s", rec)
	}
}
