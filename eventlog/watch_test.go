package eventlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"apie/internal/durable"
	"apie/store"
)

// TestWriterFollowsReplacedFiles replaces the log's index files under a
// writer that has appended before (so it watches the directory, where it
// can), in each way an admin or another process does, and appends at
// once: the entries go to the files now at the paths, not to orphans,
// with nobody else repairing in between.
func TestWriterFollowsReplacedFiles(t *testing.T) {
	remove := func(t *testing.T, path string) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	renameAway := func(t *testing.T, path string) {
		if err := os.Rename(path, path+".old"); err != nil {
			t.Fatal(err)
		}
	}
	copyOver := func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".tmp", b, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		change func(*testing.T, string)
	}{
		{"deleted", remove},
		{"renamed away", renameAway},
		{"replaced by a copy", copyOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, testOpts(dir, nil))
			appendN(t, l, 3)
			if runtime.GOOS == "linux" && l.w.watch == nil {
				t.Logf("no directory watch on this file system; the writer stats instead")
			}
			for _, name := range []string{seqIdxName, hashIdxName, idIdxName} {
				tt.change(t, filepath.Join(dir, name))
			}
			if fi, err := os.Stat(filepath.Join(dir, seqIdxName)); err == nil && fi.Size() != 3*8 {
				t.Fatalf("seq.idx before the append: %d bytes, want 24", fi.Size())
			}
			hs := appendN(t, l, 1)
			fi, err := os.Stat(filepath.Join(dir, seqIdxName))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != 4*8 {
				t.Fatalf("seq.idx at its path after the append: %d bytes, want %d (the writer wrote to an orphan)", fi.Size(), 4*8)
			}
			// A reader that opens now finds the new event by its hash.idx entry
			// (the log's tail needs no repair).
			ro := openLog(t, testOpts(dir, nil))
			if _, err := ro.Lookup(context.Background(), hs[0]); err != nil {
				t.Fatalf("Lookup of the new event by another *EventLog: %v", err)
			}
		})
	}
}

// TestWriterRechecksFilesWithoutEvents: changes the watch cannot see are
// found by the full check within filesCheckEvery.
func TestWriterRechecksFilesWithoutEvents(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	appendN(t, l, 3)
	l.wmu.Lock()
	w := l.w.watch
	l.wmu.Unlock()
	if w == nil {
		t.Skip("no directory watch here: every append checks the files")
	}
	// Drop a replacement's events, as if another machine made it, then
	// make the last full check old.
	if err := os.Remove(filepath.Join(dir, seqIdxName)); err != nil {
		t.Fatal(err)
	}
	l.wmu.Lock()
	w.changed(watchFiles)
	l.w.filesChecked = time.Now().Add(-filesCheckEvery)
	l.wmu.Unlock()
	appendN(t, l, 1)
	if fi, err := os.Stat(filepath.Join(dir, seqIdxName)); err != nil || fi.Size() != 4*8 {
		t.Fatalf("seq.idx after the append: %v, %v, want 32 bytes at its path", fi, err)
	}
}

// TestWriterLockFollowsLockFile: a writer that keeps its lock file open
// between groups still waits for whoever holds the lock, on the file it
// opened and on one that replaced it.
func TestWriterLockFollowsLockFile(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(map[bool]string{false: "same file", true: "lock file replaced"}[replace], func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, testOpts(dir, nil))
			appendN(t, l, 3)
			path := filepath.Join(dir, logLockName)
			if replace {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			}
			unlock, ok, err := durable.TryLock(path, 0o640)
			if err != nil || !ok {
				t.Fatalf("take the lock: %v, %v", ok, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err = l.Append(ctx, store.AppendRequest{Drafts: appendDrafts(1)})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Append while another holds the lock: got %v, want it to wait until %v", err, context.DeadlineExceeded)
			}
			unlock()
			appendN(t, l, 1)
			if got := mustHead(t, l).Seq; got != 4 {
				t.Fatalf("head: got seq %d, want 4", got)
			}
		})
	}
}
