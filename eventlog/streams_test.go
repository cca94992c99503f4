package eventlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"apie/event"
	"apie/store"
)

func streamDraft(s string, body string) event.Draft {
	d := draft("t", body)
	d.Stream = s
	return d
}

// buildStreamLog makes a closed log whose last event is version 3 of /s.
func buildStreamLog(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	l, err := OpenEventLog(context.Background(), testOpts(dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, streamDraft("/s", `1`), draft("t", `2`), streamDraft("/t", `3`))
	mustAppend(t, l, streamDraft("/s", `4`))
	mustAppend(t, l, streamDraft("/s/x", `5`))
	mustAppend(t, l, streamDraft("/s", `6`))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantStreams checks a stream's version and its events' seqs.
func wantStreams(t *testing.T, l *EventLog, want map[string][]uint64) {
	t.Helper()
	ctx := context.Background()
	for s, seqs := range want {
		info, err := l.StreamHead(ctx, s)
		if err != nil {
			t.Fatalf("StreamHead(%s): %v", s, err)
		}
		if info.Version != uint64(len(seqs)) {
			t.Errorf("%s: version %d, want %d", s, info.Version, len(seqs))
		}
		got, err := l.StreamSeqs(ctx, store.StreamQuery{Stream: s})
		if err != nil {
			t.Fatalf("StreamSeqs(%s): %v", s, err)
		}
		if !slices.Equal(got, seqs) {
			t.Errorf("%s: seqs %v, want %v", s, got, seqs)
		}
	}
}

// TestStreamRecoverCutEveryOffset cuts the log at every offset of its last
// record (version 3 of /s), with and without its seq.idx entry, while the
// stream index, written before the cut, still covers it: the stream reads
// as the surviving records say, the next append to /s gets the right
// streamSeq, and Verify passes.
func TestStreamRecoverCutEveryOffset(t *testing.T) {
	src := buildStreamLog(t)
	files := readLogDir(t, src)
	data := files[logDataName]
	end := int64(len(data))
	start := int64(lastLineStart(data))
	const n = 6
	for _, keepEntry := range []bool{false, true} {
		dir := t.TempDir()
		for cut := start; cut <= end; cut++ {
			seqLen := int64(len(files[seqIdxName]))
			if !keepEntry {
				seqLen = 8 * (n - 1)
			}
			writeLogDir(t, dir, files, map[string]int64{logDataName: cut, seqIdxName: seqLen})
			l, err := OpenEventLog(context.Background(), testOpts(dir, nil))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]uint64{"/s": {1, 4}, "/t": {3}, "/s/x": {5}}
			if cut == end {
				want["/s"] = []uint64{1, 4, 6}
			}
			t.Run(fmt.Sprintf("entry=%v/cut=%d", keepEntry, cut), func(t *testing.T) {
				wantStreams(t, l, want)
				d := streamDraft("/s", `7`)
				d.HasExpected, d.ExpectedVersion = true, uint64(len(want["/s"]))
				res := mustAppend(t, l, d)
				if res.Events[0].StreamSeq != uint64(len(want["/s"])+1) {
					t.Errorf("next streamSeq %d", res.Events[0].StreamSeq)
				}
				mustVerify(t, l)
			})
			l.Close()
		}
	}
}

func lastLineStart(b []byte) int {
	for i := len(b) - 2; i >= 0; i-- {
		if b[i] == '\n' {
			return i + 1
		}
	}
	return 0
}

// TestStreamIndexRebuilt: the stream index is derived data. Deleted,
// with a damaged header or truncated, it is rebuilt from the log by the
// next writer, with a log line; with entries lost behind an intact header
// (which no reader can tell), Verify finds it stale and rebuilds it.
func TestStreamIndexRebuilt(t *testing.T) {
	src := buildStreamLog(t)
	want := map[string][]uint64{"/s": {1, 4, 6, 7}, "/t": {3}, "/s/x": {5}}
	cases := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		verify  bool   // only Verify sees it
		logLine string // what the log says
	}{
		{"delete stream.idx", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, streamIdxName)) }, false, "rebuilding stream index"},
		{"delete streams.idx", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, streamsName)) }, false, "rebuilding stream index"},
		{"header of stream.idx", func(t *testing.T, dir string) { overwrite(t, filepath.Join(dir, streamIdxName), 30, []byte{0xff}) }, false, "rebuilding stream index"},
		{"header of streams.idx", func(t *testing.T, dir string) { overwrite(t, filepath.Join(dir, streamsName), 0, []byte("junk")) }, false, "rebuilding stream index"},
		{"entries of stream.idx", func(t *testing.T, dir string) { zeroFrom(t, filepath.Join(dir, streamIdxName), indexHeaderSize) }, true, "disagrees with the log"},
		{"entries of streams.idx", func(t *testing.T, dir string) { zeroFrom(t, filepath.Join(dir, streamsName), indexHeaderSize) }, true, "disagrees with the log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, src)
			c.damage(t, dir)
			rec := &logRecorder{}
			l := openLog(t, testOpts(dir, rec))
			if c.verify {
				mustVerify(t, l)
			}
			mustAppend(t, l, streamDraft("/s", `7`))
			if !rec.contains(c.logLine) {
				t.Errorf("no log line %q; log:\n%s", c.logLine, rec)
			}
			wantStreams(t, l, want)
			mustVerify(t, l)
		})
	}
}

func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// zeroFrom zeroes a file from off to its end (its entries, not its header).
func zeroFrom(t *testing.T, path string, off int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	overwrite(t, path, off, make([]byte, fi.Size()-off))
}

// TestStreamSeqGapIsDamage: a log whose streamSeqs skip (a record edited
// with its hashes fixed up) fails Verify, naming the seq.
func TestStreamSeqGapIsDamage(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	mustAppend(t, l, streamDraft("/s", `1`))
	// Seal an event of /s as version 3 and append its record by hand, as
	// a writer that skipped a number would have.
	head := mustHead(t, l)
	d := streamDraft("/s", `2`)
	d.StreamSeq = 3
	ev := event.Seal(d, 2, "x@example.com", fixedClock()(), head.Hash)
	l.wmu.Lock()
	l.w.known = false
	l.wmu.Unlock()
	appendFile(t, filepath.Join(dir, logDataName), append(ev.Record(), '\n'))
	l.Close()
	l = openLog(t, testOpts(dir, nil))
	_, err := l.Verify(context.Background(), false)
	var ce *store.CorruptionError
	if !errors.As(err, &ce) || ce.Seq != 2 {
		t.Fatalf("Verify: %v, want damage at seq 2", err)
	}
}

// TestStreamFormat1Log: a log written before streams (the golden format-1
// log) opens unchanged, reads every stream as empty, takes appends to
// streams and verifies.
func TestStreamFormat1Log(t *testing.T) {
	dir := copyDir(t, goldenDir)
	for _, name := range []string{streamIdxName, streamsName} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Fatalf("the golden log has %s", name)
		}
	}
	l := openLog(t, testOpts(dir, nil))
	wantStreams(t, l, map[string][]uint64{"/todos/alice": nil})
	res := mustAppend(t, l, streamDraft("/todos/alice", `{"title":"milk"}`))
	if res.Events[0].Seq != 6 || res.Events[0].StreamSeq != 1 {
		t.Fatalf("append: seq %d streamSeq %d", res.Events[0].Seq, res.Events[0].StreamSeq)
	}
	wantStreams(t, l, map[string][]uint64{"/todos/alice": {6}})
	if rep := mustVerify(t, l); rep.Events != 6 {
		t.Fatalf("verify: %d events", rep.Events)
	}
	b, err := os.ReadFile(filepath.Join(dir, logFormatName))
	if err != nil || string(b) != logFormatLine {
		t.Fatalf("format file now %q, %v", b, err)
	}
}

// TestStreamListAfterReboot plays a power loss that left streams.idx
// with entries it never synced (zeros past its end, as a file extended
// but not written back): after the reboot the writer trusts only what
// was synced, cuts the rest and rebuilds it, so streams begun before and
// after the loss are all listed.
func TestStreamListAfterReboot(t *testing.T) {
	dir := buildStreamLog(t)
	f, err := os.OpenFile(filepath.Join(dir, streamsName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 2*streamsEntry))
	f.Close()
	opts := testOpts(dir, nil)
	opts.bootID = func() string { return "another boot" }
	l := openLog(t, opts)
	mustAppend(t, l, streamDraft("/new", `1`))
	got, err := l.ListStreams(context.Background(), "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Stream)
	}
	if want := []string{"/new", "/s", "/s/x", "/t"}; !slices.Equal(names, want) {
		t.Errorf("streams %v, want %v", names, want)
	}
	mustVerify(t, l)
}

// TestStreamRaceAcrossLogs: four EventLogs open on one directory (as four
// processes would be; each remembers the versions it committed) race on
// one stream with expectedVersion: each version is won exactly once,
// whichever log wins it, and the stream reads back 1, 2, 3… from each.
func TestStreamRaceAcrossLogs(t *testing.T) {
	dir := t.TempDir()
	var logs []*EventLog
	for range 4 {
		logs = append(logs, openLog(t, testOpts(dir, nil)))
	}
	ctx := context.Background()
	const writers, rounds = 16, 6
	var mu sync.Mutex
	won := map[uint64]int{}
	var wg sync.WaitGroup
	for w := range writers {
		l := logs[w%len(logs)]
		wg.Go(func() {
			for range rounds {
				info, err := l.StreamHead(ctx, "/race")
				if err != nil {
					t.Error(err)
					return
				}
				d := streamDraft("/race", `1`)
				d.HasExpected, d.ExpectedVersion = true, info.Version
				_, err = l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}})
				var sve *store.StreamVersionError
				switch {
				case err == nil:
					mu.Lock()
					won[info.Version+1]++
					mu.Unlock()
				case errors.As(err, &sve):
					if sve.Current <= info.Version {
						t.Errorf("412 says version %d after %d was read", sve.Current, info.Version)
					}
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for v, n := range won {
		if n != 1 {
			t.Errorf("version %d won %d times", v, n)
		}
	}
	for _, l := range logs {
		seqs, err := l.StreamSeqs(ctx, store.StreamQuery{Stream: "/race"})
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) != len(won) {
			t.Fatalf("the stream holds %d events, %d versions were won", len(seqs), len(won))
		}
		for i, seq := range seqs {
			ev, _, err := l.decodeAt(l.current(), seq)
			if err != nil || ev.StreamSeq != uint64(i+1) {
				t.Fatalf("event %d: streamSeq %d, %v", i+1, ev.StreamSeq, err)
			}
		}
	}
	mustVerify(t, logs[0])
}
