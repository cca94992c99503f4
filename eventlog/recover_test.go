package eventlog

import (
	"apie/event"
	"apie/store"

	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"apie/sum"
)

// copyDir copies the regular files of a log directory into a new one.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func truncateFile(t testing.TB, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// buildLog makes a closed log of n single-event appends (one of them a
// batch of three) and returns its dir and hashes.
func buildLog(t testing.TB, n int) (string, []sum.Hash) {
	t.Helper()
	dir := t.TempDir()
	l, err := OpenEventLog(context.Background(), testOpts(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	hs := appendN(t, l, n-3)
	res := mustAppend(t, l, draft("b", `{"x":"\u00e9"}`), draft("b", `[]`), draft("b", `{"last":true}`))
	for _, ev := range res.Events {
		hs = append(hs, ev.Hash)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, hs
}

// TestRecoverCutEveryOffset cuts the log at every byte offset of its last
// record, with and without that record's seq.idx entry (the entry is
// written only after the fsync, but may survive a power loss that the
// record's pages did not), and reopens: exactly the complete records
// survive, the cut is logged, appends continue.
//
// The log is built once and held in memory; each case rewrites the files
// of one directory per worker (the cut log and seq.idx, the rest as
// built) instead of copying a directory, and a few workers share the
// cases.
func TestRecoverCutEveryOffset(t *testing.T) {
	const n = 6
	src, hs := buildLog(t, n)
	files := readLogDir(t, src)
	end := int64(len(files[logDataName]))
	start := int64(bytes.LastIndexByte(files[logDataName][:end-1], '\n') + 1)
	type cutCase struct {
		keepEntry bool
		cut       int64
	}
	var cases []cutCase
	for _, keepEntry := range []bool{false, true} {
		for cut := start; cut <= end; cut++ {
			cases = append(cases, cutCase{keepEntry, cut})
		}
	}
	const workers = 4
	for w := range workers {
		t.Run(fmt.Sprintf("worker=%d", w), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for i := w; i < len(cases); i += workers {
				c := cases[i]
				t.Run(fmt.Sprintf("entry=%v/cut=%d", c.keepEntry, c.cut), func(t *testing.T) {
					seqLen := int64(len(files[seqIdxName]))
					if !c.keepEntry {
						seqLen = 8 * (n - 1)
					}
					writeLogDir(t, dir, files, map[string]int64{logDataName: c.cut, seqIdxName: seqLen})
					rec := &logRecorder{}
					l := openLog(t, testOpts(dir, rec))
					want := uint64(n - 1)
					if c.cut == end {
						want = n
					}
					head := mustHead(t, l)
					if head.Seq != want || head.Hash != hs[want-1] {
						t.Fatalf("head: got %+v, want {%d %s}", head, want, hs[want-1])
					}
					if c.cut > start && c.cut < end {
						if !rec.contains("cut a torn", fmt.Sprintf("offset=%d", start), fmt.Sprintf("bytes=%d", c.cut-start)) {
							t.Fatalf("the cut was not logged; log:\n%s", rec)
						}
					}
					if c.keepEntry && c.cut < end && !rec.contains("dropped seq.idx entries") {
						t.Fatalf("the dropped entry was not logged; log:\n%s", rec)
					}
					if fi, _ := os.Stat(filepath.Join(dir, logDataName)); fi.Size() != start && want == n-1 {
						t.Fatalf("log is %d bytes, want %d", fi.Size(), start)
					}
					if _, err := l.Lookup(context.Background(), hs[n-1]); want < n && !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("Lookup of the cut record: got %v, want store.ErrNotFound", err)
					}
					more := appendN(t, l, 1)
					checkChain(t, l, want+1, append(hs[:want:want], more...))
				})
			}
		})
	}
}

// readLogDir returns the regular files of a log directory by name.
func readLogDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string][]byte)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// writeLogDir makes dir hold exactly files, each cut to the length given
// in cut if named there: a fresh copy of a log, written over the last.
func writeLogDir(t testing.TB, dir string, files map[string][]byte, cut map[string]int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, ok := files[e.Name()]; !ok {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range files {
		if n, ok := cut[name]; ok {
			b = b[:n]
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecoverTails(t *testing.T) {
	const n = 5
	src, hs := buildLog(t, n)
	lines := logLines(t, src)
	last := append(append([]byte(nil), lines[n-1]...), '\n')
	srcLog := filepath.Join(src, logDataName)
	fi, err := os.Stat(srcLog)
	if err != nil {
		t.Fatal(err)
	}
	full := fi.Size()
	tests := []struct {
		name     string
		indexed  int    // seq.idx entries kept
		logBytes int64  // log bytes kept
		tail     []byte // appended to the log
		want     int    // events after reopen
	}{
		{"clean", n, full, nil, n},
		{"one NUL", n, full, []byte{0}, n},
		{"a page of NULs", n, full, make([]byte, 4096), n},
		{"NULs then newline", n, full, append(make([]byte, 100), '\n'), n},
		{"lone newline", n, full, []byte("\n"), n},
		{"empty object line", n, full, []byte("{}\n"), n},
		{"garbage", n, full, []byte("\x89PNG\r\n\x1a\n garbage"), n},
		{"the last record again", n, full, last, n},
		{"an unindexed record", n - 1, full, nil, n},
		{"an unindexed record, then NULs", n - 1, full, make([]byte, 33), n},
		{"an unindexed record, then half of it", n - 1, full, last[:len(last)/2], n},
		{"two unindexed records", n - 2, full, nil, n},
		{"no seq.idx entries at all", 0, full, nil, n},
		{"half a record, then a whole one", n - 1, full - int64(len(last)), append(last[:10:10], last...), n - 1},
		{"a record with a flipped byte", n - 1, full - int64(len(last)), bytes.Replace(last, []byte(`"b"`), []byte(`"c"`), 1), n - 1},
		{"a record without its newline", n - 1, full - 1, nil, n - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, src)
			truncateFile(t, filepath.Join(dir, seqIdxName), int64(8*tt.indexed))
			truncateFile(t, filepath.Join(dir, logDataName), tt.logBytes)
			appendFile(t, filepath.Join(dir, logDataName), tt.tail)
			rec := &logRecorder{}
			l := openLog(t, testOpts(dir, rec))
			head := mustHead(t, l)
			if head.Seq != uint64(tt.want) || head.Hash != hs[tt.want-1] {
				t.Fatalf("head: got %+v, want {%d %s}", head, tt.want, hs[tt.want-1])
			}
			checkChain(t, l, uint64(tt.want), hs[:tt.want])
			lines := logLines(t, dir)
			if len(lines) != tt.want {
				t.Fatalf("log holds %d lines after recovery, want %d; log:\n%s", len(lines), tt.want, rec)
			}
			more := appendN(t, l, 1)
			checkChain(t, l, uint64(tt.want+1), append(hs[:tt.want:tt.want], more...))
		})
	}
}

func TestRecoverSeqIdx(t *testing.T) {
	const n = 5
	src, hs := buildLog(t, n)
	entry := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		logged string
	}{
		{"partial entry", func(t *testing.T, dir string) {
			appendFile(t, filepath.Join(dir, seqIdxName), []byte{1, 2, 3})
		}, "cut a partial seq.idx entry"},
		{"zero entries (unsynced pages)", func(t *testing.T, dir string) {
			appendFile(t, filepath.Join(dir, seqIdxName), make([]byte, 24))
		}, "dropped seq.idx entries"},
		{"entry past the log", func(t *testing.T, dir string) {
			appendFile(t, filepath.Join(dir, seqIdxName), entry(1<<30))
		}, "dropped seq.idx entries"},
		{"entry inside a record", func(t *testing.T, dir string) {
			fi, _ := os.Stat(filepath.Join(dir, logDataName))
			truncateFile(t, filepath.Join(dir, seqIdxName), 8*(n-1))
			appendFile(t, filepath.Join(dir, seqIdxName), entry(uint64(fi.Size()-3)))
		}, "indexed complete records"},
		{"seq.idx deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, seqIdxName)); err != nil {
				t.Fatal(err)
			}
		}, "indexed complete records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, src)
			tt.damage(t, dir)
			rec := &logRecorder{}
			l := openLog(t, testOpts(dir, rec))
			if !rec.contains(tt.logged) {
				t.Fatalf("want a log line %q; log:\n%s", tt.logged, rec)
			}
			if head := mustHead(t, l); head.Seq != n || head.Hash != hs[n-1] {
				t.Fatalf("head: got %+v, want {%d %s}", head, n, hs[n-1])
			}
			fi, err := os.Stat(filepath.Join(dir, seqIdxName))
			if err != nil || fi.Size() != 8*n {
				t.Fatalf("seq.idx: got %v bytes (%v), want %d", fi.Size(), err, 8*n)
			}
			checkChain(t, l, n, hs)
		})
	}
}

// TestCorruptBeforeTail damages records that recovery does not cut: the
// log keeps serving the intact ones, refuses appends, and Verify names the
// seq.
func TestCorruptBeforeTail(t *testing.T) {
	const n = 6
	src, hs := buildLog(t, n)
	tests := []struct {
		name        string
		seq         int  // the damaged record
		refusedOpen bool // appends refused from the open on (the last indexed record is checked there)
	}{
		{"last indexed record", n, true},
		{"a middle record", 3, false},
		{"the first record", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, src)
			lines := logLines(t, dir)
			off := 0
			for _, l := range lines[:tt.seq-1] {
				off += len(l) + 1
			}
			i := bytes.Index(lines[tt.seq-1], []byte(`"createdBy":"alice`))
			if i < 0 {
				t.Fatal("no createdBy in the record")
			}
			f, err := os.OpenFile(filepath.Join(dir, logDataName), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("A"), int64(off+i+len(`"createdBy":"`))); err != nil {
				t.Fatal(err)
			}
			f.Close()

			rec := &logRecorder{}
			l := openLog(t, testOpts(dir, rec))
			ctx := context.Background()
			if tt.refusedOpen {
				_, err := l.Append(ctx, store.AppendRequest{Drafts: appendDrafts(1)})
				var ce *store.CorruptionError
				if !errors.As(err, &ce) || ce.Seq != uint64(tt.seq) {
					t.Fatalf("Append: got %v, want a *store.CorruptionError at seq %d", err, tt.seq)
				}
				if got, err := l.Record(ctx, 1); err != nil || !bytes.Equal(got, lines[0]) {
					t.Fatalf("Record(1) of a corrupt log: got %q, %v", got, err)
				}
			}
			_, err = l.Verify(ctx, false)
			var ce *store.CorruptionError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify: got %v, want a *store.CorruptionError", err)
			}
			if ce.Seq != uint64(tt.seq) || ce.Offset != int64(off) {
				t.Fatalf("Verify: got seq %d offset %d, want seq %d offset %d (%v)", ce.Seq, ce.Offset, tt.seq, off, err)
			}
			var re *event.RecordError
			if !errors.Is(err, store.ErrCorrupt) || !errors.As(err, &re) {
				t.Fatalf("Verify: got %v, want it to match store.ErrCorrupt and carry its *event.RecordError", err)
			}
			if _, err := l.Append(ctx, store.AppendRequest{Drafts: appendDrafts(1)}); !errors.As(err, &ce) {
				t.Fatalf("Append after Verify found damage: got %v, want a *store.CorruptionError", err)
			}
			if _, err := l.Lookup(ctx, hs[0]); err != nil {
				t.Fatalf("Lookup of an intact event: %v", err)
			}
			if got, err := l.Reader(ctx, 1, 2); err != nil {
				t.Fatalf("Reader of intact events: %v", err)
			} else {
				got.Close()
			}
		})
	}
}

// TestChainBreakIsCorruption: a record that verifies alone but does not
// link to the one before is named by Verify.
func TestChainBreakIsCorruption(t *testing.T) {
	a, _ := buildLog(t, 4)
	b, _ := buildLog(t, 4)
	dir := copyDir(t, a)
	la, lb := logLines(t, a), logLines(t, b)
	// Swap in record 3 of another log (same seq, other chain): it verifies,
	// but its prevHash is not record 2's hash.
	var buf bytes.Buffer
	for i, line := range la {
		if i == 2 {
			line = lb[2]
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join(dir, logDataName), buf.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, seqIdxName)); err != nil {
		t.Fatal(err)
	}
	// Rebuilt from the log, seq.idx stops at the break. Record 4 after it
	// is complete and valid, so the break is damage in the middle, not a
	// torn tail: nothing may be cut, and appends are refused.
	rec := &logRecorder{}
	l := openLog(t, testOpts(dir, rec))
	if rec.contains("cut a torn") {
		t.Fatalf("records after a break in the middle were cut; log:\n%s", rec)
	}
	if fi, err := os.Stat(filepath.Join(dir, logDataName)); err != nil || fi.Size() != int64(buf.Len()) {
		t.Fatalf("log size changed: %v, %v (want %d)", fi.Size(), err, buf.Len())
	}
	_, err := l.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{draft("t", "1")}})
	var cut *store.CorruptionError
	if !errors.As(err, &cut) || cut.Seq != 3 {
		t.Fatalf("Append: got %v, want a *store.CorruptionError at seq 3", err)
	}
	// With seq.idx intact, the break is inside the indexed part: Verify names it.
	dir2 := copyDir(t, a)
	if err := os.WriteFile(filepath.Join(dir2, logDataName), buf.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, testOpts(dir2, nil))
	_, err = l2.Verify(context.Background(), false)
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Seq != 3 {
		t.Fatalf("Verify: got %v, want a *store.CorruptionError at seq 3", err)
	}
}
