package eventlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"apie/event"
	"apie/store"
	"apie/sum"
)

func TestOpenCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "events")
	opts := testOpts(dir, nil)
	opts.FileMode, opts.DirMode = 0o600, 0o700
	l := openLog(t, opts)
	b, err := os.ReadFile(filepath.Join(dir, logFormatName))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "apie-eventlog 1\n" {
		t.Fatalf("format: got %q, want %q", b, "apie-eventlog 1\n")
	}
	for _, name := range []string{logDataName, seqIdxName, hashIdxName, idIdxName, logFormatName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: got mode %o, want %o", name, fi.Mode().Perm(), 0o600)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir: got mode %o, want %o", fi.Mode().Perm(), 0o700)
	}
	if got := mustHead(t, l); got != (store.Head{Seq: 0, Hash: sum.Genesis}) {
		t.Fatalf("empty head: got %+v, want {0 %s}", got, sum.Genesis)
	}
	rep := mustVerify(t, l)
	if rep != (store.LogReport{Events: 0, Head: sum.Genesis, Bytes: 0}) {
		t.Fatalf("Verify of empty log: got %+v", rep)
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string) error
	}{
		{"unknown format version", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, logFormatName), []byte("apie-eventlog 2\n"), 0o640)
		}},
		{"foreign format file", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, logFormatName), []byte("something else"), 0o640)
		}},
		{"log without format file", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, logDataName), []byte("{}\n"), 0o640)
		}},
		{"dir is a file", func(dir string) error {
			if err := os.Remove(dir); err != nil {
				return err
			}
			return os.WriteFile(dir, nil, 0o640)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tt.setup(dir); err != nil {
				t.Fatal(err)
			}
			l, err := OpenEventLog(context.Background(), testOpts(dir, nil))
			if err == nil {
				l.Close()
				t.Fatal("got nil error, want a refusal")
			}
		})
	}
}

func TestAppendAndRead(t *testing.T) {
	l := openLog(t, testOpts(t.TempDir(), nil))
	var all []event.Event
	var recs [][]byte
	for i, req := range [][]event.Draft{
		{draft("a.one", `{"n":1}`)},
		{draft("a.two", `{"n":2}`), draft("a.three", `[1,2,3]`), draft("a.four", `"four"`)},
		{draft("a.five", `null`)},
	} {
		res := mustAppend(t, l, req...)
		if res.Appended != len(req) {
			t.Fatalf("request %d: got Appended %d, want %d", i, res.Appended, len(req))
		}
		for j, ev := range res.Events {
			if want := uint64(len(all) + 1); ev.Seq != want {
				t.Fatalf("request %d event %d: got seq %d, want %d", i, j, ev.Seq, want)
			}
			if ev.EventType != req[j].EventType || ev.EventID != req[j].EventID {
				t.Fatalf("request %d event %d: got %q %q, want %q %q", i, j, ev.EventType, ev.EventID, req[j].EventType, req[j].EventID)
			}
			if ev.CreatedBy != "alice@example.com" {
				t.Fatalf("got createdBy %q, want %q", ev.CreatedBy, "alice@example.com")
			}
			if !bytes.Equal(res.Records[j], ev.Record()) {
				t.Fatalf("got record %q, want %q", res.Records[j], ev.Record())
			}
			all = append(all, ev)
			recs = append(recs, res.Records[j])
		}
	}
	prev := sum.Genesis
	for i, ev := range all {
		if ev.PrevHash != prev {
			t.Fatalf("event %d: got prevHash %s, want %s", i+1, ev.PrevHash, prev)
		}
		prev = ev.Hash
	}
	if got, want := mustHead(t, l), (store.Head{Seq: uint64(len(all)), Hash: prev}); got != want {
		t.Fatalf("Head: got %+v, want %+v", got, want)
	}
	ctx := context.Background()
	for i, ev := range all {
		seq, err := l.Lookup(ctx, ev.Hash)
		if err != nil || seq != ev.Seq {
			t.Fatalf("Lookup(%d): got %d, %v; want %d", i, seq, err, ev.Seq)
		}
		rec, err := l.Record(ctx, ev.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec, recs[i]) {
			t.Fatalf("Record(%d): got %q, want %q", ev.Seq, rec, recs[i])
		}
	}
	if _, err := l.Lookup(ctx, sum.Of([]byte("absent"))); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Lookup(absent): got %v, want store.ErrNotFound", err)
	}
	for _, seq := range []uint64{0, uint64(len(all) + 1), 1 << 40} {
		if _, err := l.Record(ctx, seq); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Record(%d): got %v, want store.ErrNotFound", seq, err)
		}
	}
	ranges := []struct{ first, last uint64 }{{1, 1}, {1, 5}, {2, 4}, {5, 5}, {3, 5}}
	for _, r := range ranges {
		t.Run(fmt.Sprintf("Reader(%d,%d)", r.first, r.last), func(t *testing.T) {
			var want []byte
			for _, rec := range recs[r.first-1 : r.last] {
				want = append(append(want, rec...), '\n')
			}
			if got := readAll(t, l, r.first, r.last); !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
	for _, r := range []struct{ first, last uint64 }{{0, 1}, {2, 1}, {1, 6}, {6, 6}} {
		if _, err := l.Reader(ctx, r.first, r.last); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Reader(%d, %d): got %v, want store.ErrNotFound", r.first, r.last, err)
		}
	}
	file, err := os.ReadFile(filepath.Join(l.dir, logDataName))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l, 1, 5); !bytes.Equal(got, file) {
		t.Fatalf("the log file is not the NDJSON of its records:\n got %q\nwant %q", got, file)
	}
	rep := mustVerify(t, l)
	if rep.Events != 5 || rep.Head != prev || rep.Bytes != int64(len(file)) {
		t.Fatalf("Verify: got %+v, want {5 %s %d}", rep, prev, len(file))
	}
}

func TestReaderWriteToAndSeek(t *testing.T) {
	l := openLog(t, testOpts(t.TempDir(), nil))
	appendN(t, l, 10)
	want := readAll(t, l, 3, 8)
	for _, skip := range []int64{0, 1, 57, int64(len(want))} {
		t.Run(fmt.Sprint(skip), func(t *testing.T) {
			r, err := l.Reader(context.Background(), 3, 8)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if _, err := io.CopyN(io.Discard, r, skip); err != nil {
				t.Fatal(err)
			}
			wt, ok := r.(io.WriterTo)
			if !ok {
				t.Fatal("reader is not an io.WriterTo")
			}
			var buf bytes.Buffer
			n, err := wt.WriteTo(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(want))-skip || !bytes.Equal(buf.Bytes(), want[skip:]) {
				t.Fatalf("got %d bytes %q, want %q", n, buf.Bytes(), want[skip:])
			}
			if rest, _ := io.ReadAll(r); len(rest) != 0 {
				t.Fatalf("after WriteTo got %d more bytes, want 0", len(rest))
			}
			s := r.(io.Seeker)
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			again, _ := io.ReadAll(r)
			if !bytes.Equal(again, want) {
				t.Fatalf("after Seek(0) got %q, want %q", again, want)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil))
	hs := appendN(t, l, 40) // C=16: levels 0..2
	head := mustHead(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, testOpts(dir, nil))
	if got := mustHead(t, l2); got != head {
		t.Fatalf("Head after reopen: got %+v, want %+v", got, head)
	}
	checkChain(t, l2, 40, hs)
	more := appendN(t, l2, 3)
	checkChain(t, l2, 43, append(hs, more...))
}

func TestClosed(t *testing.T) {
	l := openLog(t, testOpts(t.TempDir(), nil))
	appendN(t, l, 1)
	r, err := l.Reader(context.Background(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	checks := map[string]error{}
	_, checks["Head"] = l.Head(ctx)
	_, checks["Append"] = l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{draft("x", "1")}})
	_, checks["Lookup"] = l.Lookup(ctx, sum.Genesis)
	_, checks["Record"] = l.Record(ctx, 1)
	_, checks["Reader"] = l.Reader(ctx, 1, 1)
	_, checks["Verify"] = l.Verify(ctx, false)
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: got %v, want store.ErrClosed", name, err)
		}
	}
	if b, err := io.ReadAll(r); err != nil || len(b) == 0 {
		t.Fatalf("a reader from before Close: got %d bytes, %v", len(b), err)
	}
}

func TestTwoLogsOneDir(t *testing.T) {
	dir := t.TempDir()
	a := openLog(t, testOpts(dir, nil))
	b := openLog(t, testOpts(dir, nil))
	ha := appendN(t, a, 5)
	if got := mustHead(t, b); got.Seq != 5 || got.Hash != ha[4] {
		t.Fatalf("b sees head %+v, want {5 %s}", got, ha[4])
	}
	hb := appendN(t, b, 5)
	if got := mustHead(t, a); got.Seq != 10 || got.Hash != hb[4] {
		t.Fatalf("a sees head %+v, want {10 %s}", got, hb[4])
	}
	res := mustAppend(t, a, clientDraft(uuidN(1), "t", "1"))
	if res.Events[0].PrevHash != hb[4] {
		t.Fatalf("a appended onto %s, want %s", res.Events[0].PrevHash, hb[4])
	}
	again, err := b.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{clientDraft(uuidN(1), "t", "1")}})
	if err != nil || again.Appended != 0 || again.Events[0].Hash != res.Events[0].Hash {
		t.Fatalf("retry through the other log: got %+v, %v", again, err)
	}
	checkChain(t, a, 11, append(ha, hb...))
	checkChain(t, b, 11, append(ha, hb...))
}
