package eventlog

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// The golden log pins format version 1: testdata/eventlog-v1 holds a small
// log written once by this code. Regenerate (only on purpose, with a new
// format version) with: go test ./eventlog -run TestGoldenLog -update-eventlog-golden
var updateGolden = flag.Bool("update-eventlog-golden", false, "rewrite testdata/eventlog-v1")

const (
	goldenDir  = "testdata/eventlog-v1"
	goldenHead = "cc5e30094c0c6cec3aad7f2d51d8dfe9535456813dcdc0509e3ade911a7a211a" // the hash of the last golden event
)

// writeGoldenLog writes the golden events into a new log in dir.
func writeGoldenLog(t *testing.T, dir string) {
	t.Helper()
	l, err := OpenEventLog(context.Background(), LogOptions{Dir: dir, Now: fixedClock(), indexSlots: 16, bootID: func() string { return "golden" },
		newSalt: func() string { return "" }}) // the golden log is of events stored before salts
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []store.AppendRequest{
		{CreatedBy: "alice@example.com", Drafts: []event.Draft{clientDraft(uuidN(1), "todo.added", `{"title":"milk"}`)}},
		{CreatedBy: "bob@example.com", Drafts: []event.Draft{
			clientDraft(uuidN(2), "todo.added", `{"title":"café ☕","tags":["a","b"],"n":1e3}`),
			clientDraft(uuidN(3), "todo.done", `{"id":1}`),
		}},
		{CreatedBy: "alice@example.com", Drafts: []event.Draft{clientDraft(uuidN(4), "note", `"line\nbreak \u2028 and \"quotes\""`)}},
		{CreatedBy: "carol@example.com", Drafts: []event.Draft{clientDraft(uuidN(5), "empty", `null`)}},
	} {
		if _, err := l.Append(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestGoldenLog(t *testing.T) {
	if *updateGolden {
		tmp := t.TempDir()
		writeGoldenLog(t, tmp)
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{logFormatName, logDataName, seqIdxName, hashIdxName, idIdxName} {
			b, err := os.ReadFile(filepath.Join(tmp, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(goldenDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}

	// This code writes exactly the golden bytes for the same inputs.
	fresh := t.TempDir()
	writeGoldenLog(t, fresh)
	for _, name := range []string{logFormatName, logDataName, seqIdxName} {
		want, err := os.ReadFile(filepath.Join(goldenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(fresh, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the golden one:\n got %q\nwant %q", name, got, want)
		}
	}
	for _, name := range []string{hashIdxName, idIdxName} {
		want, err := os.ReadFile(filepath.Join(goldenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(fresh, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the golden one", name)
		}
	}

	// The golden log opens, verifies and answers.
	dir := copyDir(t, goldenDir)
	l := openLog(t, testOpts(dir, nil))
	rep := mustVerify(t, l)
	lines := logLines(t, goldenDir)
	if rep.Events != 5 || len(lines) != 5 {
		t.Fatalf("got %d events and %d lines, want 5", rep.Events, len(lines))
	}
	ev, err := event.VerifyRecord(lines[4])
	if err != nil {
		t.Fatal(err)
	}
	if rep.Head != ev.Hash || mustHead(t, l).Hash != ev.Hash {
		t.Fatalf("head: got %s, want %s", rep.Head, ev.Hash)
	}
	if got := ev.Hash.String(); got != goldenHead {
		t.Fatalf("golden head: got %s, want %s", got, goldenHead)
	}
	for i, line := range lines {
		ev, err := event.VerifyRecord(line)
		if err != nil {
			t.Fatal(err)
		}
		if seq, err := l.Lookup(context.Background(), ev.Hash); err != nil || seq != uint64(i+1) {
			t.Fatalf("Lookup(%s): got %d, %v; want %d", ev.Hash, seq, err, i+1)
		}
	}
	res := mustAppend(t, l, clientDraft(uuidN(3), "todo.done", `{"id":1}`))
	if res.Appended != 0 || res.Events[0].Seq != 3 {
		t.Fatalf("retry against the golden log: got Appended %d seq %d, want 0 and 3", res.Appended, res.Events[0].Seq)
	}
	res = mustAppend(t, l, draft("after", `{}`))
	if res.Events[0].PrevHash != sum.Hash(ev.Hash) {
		t.Fatalf("append onto the golden log: got prevHash %s, want %s", res.Events[0].PrevHash, ev.Hash)
	}
}
