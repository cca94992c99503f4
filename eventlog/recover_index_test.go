package eventlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// TestIndexRebuild damages hash.idx and id.idx: each is rebuilt from the
// log (logged) and answers exactly as before, retries included.
func TestIndexRebuild(t *testing.T) {
	const n = 60 // C=16: levels 0..2
	src := t.TempDir()
	l, err := OpenEventLog(context.Background(), testOpts(src, nil))
	if err != nil {
		t.Fatal(err)
	}
	hs := appendN(t, l, n-2)
	res := mustAppend(t, l, clientDraft(uuidN(1), "t", `1`), clientDraft(uuidN(2), "t", `2`))
	hs = append(hs, res.Events[0].Hash, res.Events[1].Hash)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	badMagic := func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte("garbage!"), 0); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(t *testing.T, path string) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	empty := func(t *testing.T, path string) { truncateFile(t, path, 0) }
	tests := []struct {
		name   string
		files  []string
		damage func(*testing.T, string)
	}{
		{"hash.idx deleted", []string{hashIdxName}, remove},
		{"id.idx deleted", []string{idIdxName}, remove},
		{"both deleted", []string{hashIdxName, idIdxName}, remove},
		{"hash.idx bad magic", []string{hashIdxName}, badMagic},
		{"id.idx emptied", []string{idIdxName}, empty},
		{"swapped", nil, func(t *testing.T, dir string) {
			a, b := filepath.Join(dir, hashIdxName), filepath.Join(dir, idIdxName)
			if err := os.Rename(a, a+".x"); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(b, a); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(a+".x", b); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, src)
			if tt.files == nil {
				tt.damage(t, dir)
			}
			for _, name := range tt.files {
				tt.damage(t, filepath.Join(dir, name))
			}
			rec := &logRecorder{}
			l := openLog(t, testOpts(dir, rec))
			if !rec.contains("rebuilding index") {
				t.Fatalf("want the rebuild logged; log:\n%s", rec)
			}
			checkChain(t, l, n, hs)
			for i, h := range hs {
				seq, err := l.Lookup(context.Background(), h)
				if err != nil || seq != uint64(i+1) {
					t.Fatalf("Lookup(%d): got %d, %v", i+1, seq, err)
				}
			}
			again := mustAppend(t, l, clientDraft(uuidN(2), "t", `2`))
			if again.Appended != 0 || again.Events[0].Seq != n {
				t.Fatalf("retry after rebuild: got Appended %d seq %d, want 0 and %d", again.Appended, again.Events[0].Seq, n)
			}
		})
	}
}

// TestIndexReplacedUnderOpenLog: a log that stays open while another
// process rebuilds a deleted index writes to the new file, not the orphan.
func TestIndexReplacedUnderOpenLog(t *testing.T) {
	dir := t.TempDir()
	a := openLog(t, testOpts(dir, nil))
	hs := appendN(t, a, 10)
	for _, name := range []string{hashIdxName, idIdxName, seqIdxName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	b := openLog(t, testOpts(dir, nil)) // rebuilds all three
	hs = append(hs, appendN(t, a, 10)...)
	hs = append(hs, appendN(t, b, 10)...)
	checkChain(t, b, 30, hs)
	checkChain(t, a, 30, hs)
	c := openLog(t, testOpts(dir, nil))
	checkChain(t, c, 30, hs)
}

// TestIndexTrustAfterReboot: entries past the header's synced mark are
// trusted only within the boot that wrote them.
func TestIndexTrustAfterReboot(t *testing.T) {
	dir := t.TempDir()
	opts := testOpts(dir, nil)
	opts.bootID = func() string { return "boot-A" }
	l, err := OpenEventLog(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := appendN(t, l, 20)
	// Play a crash of the machine: the inserts never reached the disk. The
	// headers (covered=20, synced=0) did.
	for _, name := range []string{hashIdxName, idIdxName} {
		truncateFile(t, filepath.Join(dir, name), indexHeaderSize)
	}
	h, err := l.files.idx[0].readHeader()
	if err != nil {
		t.Fatal(err)
	}
	if h.covered != 20 || h.synced != 0 || h.bootID != "boot-A" {
		t.Fatalf("header before the crash: got %+v, want covered 20, synced 0, boot-A", h)
	}
	l.closeFiles() // no checkpoint: the process died with the machine

	// Same boot: covered is trusted, so the lost entries are not re-inserted.
	same, err := OpenEventLog(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := same.Lookup(context.Background(), hs[3]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("same boot: got %v, want store.ErrNotFound (covered trusted)", err)
	}
	same.closeFiles() // dies too: no checkpoint

	opts.bootID = func() string { return "boot-B" }
	after := openLog(t, opts)
	checkChain(t, after, 20, hs)
	h, err = after.files.idx[1].readHeader()
	if err != nil {
		t.Fatal(err)
	}
	if h.covered != 20 || h.bootID != "boot-B" {
		t.Fatalf("header after catching up: got %+v, want covered 20 by boot-B", h)
	}
	if err := after.Close(); err != nil {
		t.Fatal(err)
	}
	h2, _ := (&hashIndex{path: "x", kind: kindID, f: mustOpen(t, filepath.Join(dir, idIdxName))}).readHeader()
	if h2.synced == 20 {
		t.Fatalf("Close checkpointed (synced %d): a CGI request must not pay those fsyncs", h2.synced)
	}
	again := openLog(t, opts)
	if err := again.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	h3, _ := (&hashIndex{path: "x", kind: kindID, f: mustOpen(t, filepath.Join(dir, idIdxName))}).readHeader()
	if h3.synced != 20 {
		t.Fatalf("Checkpoint: synced %d, want 20", h3.synced)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestLookupGap: events committed (in seq.idx) but not yet in the index —
// a writer that died between the two — are found by a reader anyway: a few
// by reading them from the log (without the lock, which another writer
// holds), many by taking the lock and catching the index up.
func TestLookupGap(t *testing.T) {
	for _, gap := range []int{1, 5, lookupScanMax + 10} {
		t.Run(fmt.Sprint(gap), func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, testOpts(dir, nil))
			appendN(t, l, 3)
			var hdr [2]indexHeader
			for i, x := range l.files.idx {
				h, err := x.readHeader()
				if err != nil {
					t.Fatal(err)
				}
				hdr[i] = h
			}
			var more []sum.Hash
			for _, ev := range mustAppend(t, l, appendDrafts(gap)...).Events {
				more = append(more, ev.Hash)
			}
			// The writer "died" after seq.idx: headers say 3, entries gone.
			for i, x := range l.files.idx {
				if err := x.f.Truncate(indexHeaderSize); err != nil {
					t.Fatal(err)
				}
				if err := x.writeHeader(hdr[i]); err != nil {
					t.Fatal(err)
				}
			}
			unlock, ok, err := durable.TryLock(filepath.Join(dir, logLockName), 0o640)
			if err != nil || !ok {
				t.Fatalf("durable.TryLock: %v %v", ok, err)
			}
			r := openLog(t, testOpts(dir, nil)) // the lock is busy: no repair
			if gap > lookupScanMax {
				unlock()
			}
			for _, h := range more {
				if _, err := r.Lookup(context.Background(), h); err != nil {
					t.Fatalf("Lookup: %v", err)
				}
			}
			if _, err := r.Lookup(context.Background(), sum.Of(nil)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Lookup(absent): got %v, want store.ErrNotFound", err)
			}
			if gap <= lookupScanMax {
				h, err := r.files.idx[0].readHeader()
				if err != nil || h.covered != 3 {
					t.Fatalf("a reader wrote the index: covered %d, %v", h.covered, err)
				}
				unlock()
			} else {
				h, err := r.files.idx[0].readHeader()
				if err != nil || h.covered != uint64(3+gap) {
					t.Fatalf("index not caught up: covered %d, %v", h.covered, err)
				}
			}
		})
	}
}

// TestCheckpoint: after checkpointEvery events the indexes are fsync'd and
// marked synced, so a crash of the machine loses no more than that many
// entries to re-insert.
func TestCheckpoint(t *testing.T) {
	l := openLog(t, testOpts(t.TempDir(), nil))
	appendN(t, l, 2)
	readHdr := func() indexHeader {
		t.Helper()
		h, err := l.files.idx[0].readHeader()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := readHdr(); h.covered != 2 || h.synced != 0 {
		t.Fatalf("after 2 events: got covered %d synced %d, want 2 and 0", h.covered, h.synced)
	}
	mustAppend(t, l, appendDrafts(checkpointEvery)...)
	if h := readHdr(); h.covered != checkpointEvery+2 || h.synced != checkpointEvery+2 {
		t.Fatalf("after %d events: got covered %d synced %d, want both %d", checkpointEvery+2, h.covered, h.synced, checkpointEvery+2)
	}
	appendN(t, l, 1)
	if h := readHdr(); h.synced != checkpointEvery+2 {
		t.Fatalf("one more event: got synced %d, want %d", h.synced, checkpointEvery+2)
	}
}
