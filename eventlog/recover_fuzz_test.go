package eventlog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"apie/store"
)

// FuzzRecoverTail appends arbitrary bytes to a valid log and opens it:
// recovery never panics, the valid prefix survives and verifies, and
// appends continue.
func FuzzRecoverTail(f *testing.F) {
	const n = 5
	full, hs := buildLog(f, n)
	lines := logLines(f, full)
	next := append(append([]byte(nil), lines[n-1]...), '\n')
	// The template holds the first n-1 events; the n-th record is a seed.
	src := copyDir(f, full)
	truncateFile(f, filepath.Join(src, seqIdxName), 8*(n-1))
	fi, err := os.Stat(filepath.Join(full, logDataName))
	if err != nil {
		f.Fatal(err)
	}
	truncateFile(f, filepath.Join(src, logDataName), fi.Size()-int64(len(next)))

	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(make([]byte, 512))
	f.Add([]byte("\n"))
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"seq":5}` + "\n"))
	f.Add(next)
	f.Add(next[:len(next)-1])
	f.Add(next[:len(next)/2])
	f.Add(append(append([]byte(nil), next...), "garbage"...))
	f.Add(append(append([]byte(nil), next...), next...))
	f.Fuzz(func(t *testing.T, tail []byte) {
		dir := copyDir(t, src)
		appendFile(t, filepath.Join(dir, logDataName), tail)
		l, err := OpenEventLog(context.Background(), testOpts(dir, nil))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer l.Close()
		head := mustHead(t, l)
		if head.Seq < n-1 {
			t.Fatalf("head: got seq %d, want at least %d", head.Seq, n-1)
		}
		rep := mustVerify(t, l)
		if rep.Events != head.Seq {
			t.Fatalf("Verify: got %d events, head says %d", rep.Events, head.Seq)
		}
		for _, h := range hs[:n-1] {
			if _, err := l.Lookup(context.Background(), h); err != nil {
				t.Fatalf("Lookup of a prefix event: %v", err)
			}
		}
		if fi, err := os.Stat(filepath.Join(dir, logDataName)); err != nil || fi.Size() != rep.Bytes {
			t.Fatalf("log is %d bytes after recovery, committed %d (%v)", fi.Size(), rep.Bytes, err)
		}
		res, err := l.Append(context.Background(), store.AppendRequest{Drafts: appendDrafts(1)})
		if err != nil || res.Events[0].PrevHash != head.Hash {
			t.Fatalf("append after recovery: got %+v, %v", res, err)
		}
	})
}
