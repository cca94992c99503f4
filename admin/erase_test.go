package admin

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"apie/app"
	"apie/event"
	"apie/store"
)

// TestEraseCommand: erase HASH --reason erases the body on disk through
// the log's locked Erase, prints the apie.erased event, answers the same
// one when run again, and verify then counts the erasure; bad arguments
// are usage errors (exit 2), an unknown hash and a tombstone exit 1, and
// none of them changes the log.
func TestEraseCommand(t *testing.T) {
	cfg := testConfig(t)
	if code, _, errOut := run(t, cfg, "", "erase", strings.Repeat("a", 64), "--reason", "r"); code != 1 || !strings.Contains(errOut, "no event log") {
		t.Fatalf("erase with no log: code %d, %q; want 1 naming the missing log", code, errOut)
	}
	ctx := context.Background()
	stores := app.NewStores(cfg, nil)
	log, err := stores.EventLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := log.Append(ctx, store.AppendRequest{CreatedBy: "bob", Drafts: []event.Draft{
		{EventID: "0b7d3d62-5c1e-4f67-8f0e-6a1c2b3d4e51", EventType: "person", Body: []byte(`{"email":"carol@example.com"}`)},
		{EventID: "0b7d3d62-5c1e-4f67-8f0e-6a1c2b3d4e52", EventType: "other", Body: []byte(`1`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	stores.Close()
	target := res.Events[0].Hash.String()

	for _, args := range [][]string{
		{"erase"},
		{"erase", target},
		{"erase", target, "--reason"},
		{"erase", target, "--reason", " "},
		{"erase", "--reason", "r"},
		{"erase", "nothex", "--reason", "r"},
		{"erase", target, target, "--reason", "r"},
		{"erase", target, "--force", "--reason", "r"},
	} {
		if code, _, errOut := run(t, cfg, "", args...); code != 2 || !strings.Contains(errOut, "erase") {
			t.Errorf("%q: code %d, %q; want a usage error (2)", args, code, errOut)
		}
	}
	if code, _, errOut := run(t, cfg, "", "erase", strings.Repeat("b", 64), "--reason", "r"); code != 1 || !strings.Contains(errOut, "no event "+strings.Repeat("b", 64)) {
		t.Fatalf("erase of an unknown hash: code %d, %q; want 1", code, errOut)
	}
	raw, _ := os.ReadFile(cfg.EventLog.Path + "/log")
	if !strings.Contains(string(raw), "carol@example.com") || strings.Count(string(raw), "\n") != 2 {
		t.Fatal("a refused erase changed the log")
	}

	code, out, errOut := run(t, cfg, "", "erase", target, "--reason=GDPR art. 17", "--by", "dpo@example.com")
	if code != 0 {
		t.Fatalf("erase: code %d, %s%s", code, out, errOut)
	}
	tomb := tombstoneOf(t, out)
	ts, ok := event.ParseTombstone(&tomb)
	if !ok || ts.Erased.String() != target || ts.Seq != 1 || ts.Reason != "GDPR art. 17" || tomb.CreatedBy != "dpo@example.com" || tomb.Seq != 3 {
		t.Fatalf("erase printed %+v (%+v)", tomb, ts)
	}
	raw, _ = os.ReadFile(cfg.EventLog.Path + "/log")
	if strings.Contains(string(raw), "carol@example.com") {
		t.Fatal("the body is still in the log file")
	}
	code, out, _ = run(t, cfg, "", "erase", target, "--reason", "again")
	if again := tombstoneOf(t, out); code != 0 || again.Hash != tomb.Hash {
		t.Fatalf("erase again: code %d, %s; want the same tombstone", code, out)
	}
	if code, _, errOut := run(t, cfg, "", "erase", tomb.Hash.String(), "--reason", "r"); code != 1 || !strings.Contains(errOut, "cannot be erased") {
		t.Fatalf("erase of a tombstone: code %d, %q; want 1", code, errOut)
	}
	code, out, _ = run(t, cfg, "", "verify")
	if code != 0 || !strings.Contains(out, "events: ok, 3 events (1 erased)") {
		t.Fatalf("verify after erase: code %d, %q", code, out)
	}
}

// tombstoneOf reads the apie.erased event from erase's output (its last line).
func tombstoneOf(t *testing.T, out string) event.Event {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var raw json.RawMessage
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &raw); err != nil {
		t.Fatalf("erase output %q: %v", out, err)
	}
	ev, err := event.VerifyRecord(raw)
	if err != nil {
		t.Fatalf("erase output %q: %v", out, err)
	}
	return ev
}
