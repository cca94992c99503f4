package eventlog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Helpers shared by the event log's tests.

// logRecorder is a slog handler that keeps every message, so tests can
// check that a cut was logged.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

// contains reports whether a logged line contains every one of parts.
func (r *logRecorder) contains(parts ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for _, l := range r.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return true
	}
	return false
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// fixedClock returns a clock that starts at a fixed time and ticks 1ms per call.
func fixedClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 11, 22, 6, 29, 35, 123456000, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

// testOpts are the options tests open logs with: a small index (C = 16,
// so several levels fill quickly), a recorded logger, a fixed clock.
func testOpts(dir string, rec *logRecorder) LogOptions {
	opts := LogOptions{Dir: dir, Now: fixedClock(), indexSlots: 16}
	if rec != nil {
		opts.Logger = slog.New(rec)
	}
	return opts
}

func openLog(t testing.TB, opts LogOptions) *EventLog {
	t.Helper()
	l, err := OpenEventLog(context.Background(), opts)
	if err != nil {
		t.Fatalf("OpenEventLog: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// canonical returns the canonical (JCS) form of a JSON body, as a draft
// must hold it.
func canonical(body string) []byte {
	b, err := event.CanonicalBody([]byte(body))
	if err != nil {
		panic(fmt.Sprintf("test body %q: %v", body, err))
	}
	return b
}

// draft returns a draft with a server-chosen id.
func draft(typ, body string) event.Draft {
	return event.Draft{EventID: event.NewUUID(), EventType: typ, Body: canonical(body)}
}

// clientDraft returns a draft whose id the client chose.
func clientDraft(id, typ, body string) event.Draft {
	return event.Draft{EventID: id, EventType: typ, Body: canonical(body), ClientID: true}
}

// uuidN returns a fixed lower-case UUID made from n.
func uuidN(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func mustAppend(t testing.TB, l *EventLog, drafts ...event.Draft) store.AppendResult {
	t.Helper()
	res, err := l.Append(context.Background(), store.AppendRequest{Drafts: drafts, CreatedBy: "alice@example.com"})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// appendN appends n single-event requests and returns their hashes.
func appendN(t testing.TB, l *EventLog, n int) []sum.Hash {
	t.Helper()
	var hs []sum.Hash
	for i := 0; i < n; i++ {
		res := mustAppend(t, l, draft("test.n", fmt.Sprintf(`{"i":%d}`, i)))
		hs = append(hs, res.Events[0].Hash)
	}
	return hs
}

func mustHead(t testing.TB, l *EventLog) store.Head {
	t.Helper()
	h, err := l.Head(context.Background())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

func mustVerify(t testing.TB, l *EventLog) store.LogReport {
	t.Helper()
	rep, err := l.Verify(context.Background(), false)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// readAll returns the bytes of Reader(first, last).
func readAll(t testing.TB, l *EventLog, first, last uint64) []byte {
	t.Helper()
	r, err := l.Reader(context.Background(), first, last)
	if err != nil {
		t.Fatalf("Reader(%d, %d): %v", first, last, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

// logLines returns the log file's records (without '\n').
func logLines(t testing.TB, dir string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, logDataName))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	if len(b) == 0 {
		return nil
	}
	return bytes.Split(b, []byte("\n"))
}

// checkChain checks that the log in dir verifies, holds want events, and
// that every hash in hs is found at its place.
func checkChain(t testing.TB, l *EventLog, want uint64, hs []sum.Hash) {
	t.Helper()
	rep := mustVerify(t, l)
	if rep.Events != want {
		t.Fatalf("Verify: got %d events, want %d", rep.Events, want)
	}
	for _, h := range hs {
		if _, err := l.Lookup(context.Background(), h); err != nil {
			t.Fatalf("Lookup(%s): %v", h, err)
		}
	}
}

// appendDrafts returns n drafts with server-chosen ids.
func appendDrafts(n int) []event.Draft {
	ds := make([]event.Draft, n)
	for i := range ds {
		ds[i] = draft("test.batch", fmt.Sprintf(`{"j":%d}`, i))
	}
	return ds
}
