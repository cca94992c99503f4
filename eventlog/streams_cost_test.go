package eventlog

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"testing"

	"apie/event"
	"apie/store"
)

// readSyscalls returns how many read system calls (pread included) this
// process has made: syscr in /proc/self/io.
func readSyscalls(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatalf("read syscall count: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("syscr: ")); ok {
			n, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				t.Fatalf("syscr %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no syscr in /proc/self/io")
	return 0
}

// TestRecursiveReadCostsTheEvents reads 10 events of /p recursively over
// 1,000 one-event child streams: once the names are known it makes a few
// reads per event returned, not reads per stream (no record per stream to
// learn its name, no version walk per stream).
func TestRecursiveReadCostsTheEvents(t *testing.T) {
	ctx := context.Background()
	l, err := OpenEventLog(ctx, testOpts(t.TempDir(), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const children = 1000
	for i := 0; i < children; i += 100 {
		ds := make([]event.Draft, 0, 100)
		for j := i; j < i+100; j++ {
			ds = append(ds, streamDraft("/p/"+strconv.Itoa(j), strconv.Itoa(j)))
		}
		mustAppend(t, l, ds...)
	}
	if err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	q := store.StreamQuery{Stream: "/p", Recursive: true, Limit: 10}
	want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for round := range 2 {
		before := readSyscalls(t)
		seqs, err := l.StreamSeqs(ctx, q)
		reads := readSyscalls(t) - before
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs, want) {
			t.Fatalf("round %d: seqs %v, want %v", round, seqs, want)
		}
		t.Logf("round %d: %d read calls", round, reads)
		if round == 1 && reads > 200 {
			t.Errorf("a recursive read of 10 events over %d streams made %d read calls, want at most 200", children, reads)
		}
	}
}

// TestStreamReadKeepsRecords checks that the records StreamRead keeps are
// those Record returns (an erased one included), a prefix that fits the
// budget, for plain, recursive and paged reads.
func TestStreamReadKeepsRecords(t *testing.T) {
	ctx := context.Background()
	l, err := OpenEventLog(ctx, testOpts(t.TempDir(), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mustAppend(t, l, streamDraft("/s", `{"a":1}`), draft("t", `2`), streamDraft("/s/x", `{"a":3}`))
	res := mustAppend(t, l, streamDraft("/s", `{"a":4}`))
	mustAppend(t, l, streamDraft("/s", `{"a":5}`), streamDraft("/s/y", `{"a":6}`))
	if _, err := l.Erase(ctx, res.Events[0].Hash, "test", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		q      store.StreamQuery
		budget int
		want   []uint64
		kept   int
	}{
		{store.StreamQuery{Stream: "/s"}, 1 << 20, []uint64{1, 4, 5}, 3},
		{store.StreamQuery{Stream: "/s", Recursive: true}, 1 << 20, []uint64{1, 3, 4, 5, 6}, 5},
		{store.StreamQuery{Stream: "/s", Recursive: true, After: 3, Limit: 2}, 1 << 20, []uint64{4, 5}, 2},
		{store.StreamQuery{Stream: "/s", Recursive: true, After: 1, Last: 5}, 1 << 20, []uint64{3, 4, 5}, 3},
		{store.StreamQuery{Stream: "/s", Recursive: true}, 0, []uint64{1, 3, 4, 5, 6}, 0},
		{store.StreamQuery{Stream: "/s", After: 4}, 1 << 20, []uint64{5}, 1},
		{store.StreamQuery{Stream: "/none", Recursive: true}, 1 << 20, nil, 0},
	} {
		seqs, recs, err := l.StreamRead(ctx, tt.q, tt.budget)
		if err != nil {
			t.Fatalf("%+v: %v", tt.q, err)
		}
		if !slices.Equal(seqs, tt.want) || len(recs) != tt.kept {
			t.Fatalf("%+v budget %d: seqs %v and %d records, want %v and %d", tt.q, tt.budget, seqs, len(recs), tt.want, tt.kept)
		}
		for i, rec := range recs {
			want, err := l.Record(ctx, seqs[i])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec, want) {
				t.Errorf("%+v: record %d: %s, want %s", tt.q, seqs[i], rec, want)
			}
		}
	}
	// A budget that holds only the first record keeps only it.
	first, err := l.Record(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, recs, err := l.StreamRead(ctx, store.StreamQuery{Stream: "/s"}, len(first)); err != nil || len(recs) != 1 {
		t.Fatalf("budget of one record: %d records, %v; want 1", len(recs), err)
	}
}
