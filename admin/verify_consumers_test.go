package admin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/app"
	"apie/event"
	"apie/store"
	"apie/sum"
)

// TestVerifyConsumers: verify checks the consumer store: a consumer whose
// two slots are both damaged, or whose position is not an event of the
// log, fails verify with a line naming it and "consumer rm"; after
// consumer rm, verify passes again.
func TestVerifyConsumers(t *testing.T) {
	cfg := testConfig(t)
	ctx := context.Background()
	stores := app.NewStores(cfg, nil)
	log, err := stores.EventLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := log.Append(ctx, store.AppendRequest{CreatedBy: "a@example.com", Drafts: []event.Draft{
		{EventID: event.NewUUID(), EventType: "t", Body: []byte(`1`)},
		{EventID: event.NewUUID(), EventType: "t", Body: []byte(`2`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := stores.Consumers(ctx)
	for _, m := range []store.ConsumerMove{
		{Name: "good", After: res.Events[1].Hash, Seq: 2},
		{Name: "stray", After: sum.Of([]byte("no such event")), Seq: 1}, // the store does not check the log
		{Name: "broken", After: res.Events[0].Hash, Seq: 1},
		{Name: "wrongseq", After: res.Events[0].Hash, Seq: 2},
	} {
		if _, _, err := cs.Move(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	stores.Close()

	code, out, _ := run(t, cfg, "", "verify")
	for _, want := range []string{"consumer stray", "not an event of the log", `"consumer rm stray"`, "consumer wrongseq", "seq 1 in the log, not 2"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Fatalf("verify: code %d, output %q; want 1 and %q", code, out, want)
		}
	}
	for _, name := range []string{"stray", "wrongseq"} {
		if code, _, errOut := run(t, cfg, "", "consumer", "rm", name); code != 0 {
			t.Fatalf("consumer rm %s: %d %s", name, code, errOut)
		}
	}
	if code, out, _ := run(t, cfg, "", "verify"); code != 0 || !strings.Contains(out, "consumers: ok, 2 consumers") {
		t.Fatalf("verify after rm: code %d, output %q", code, out)
	}

	// Both slots of "broken" (pair 2: created third) damaged.
	path := filepath.Join(cfg.Consumers.Path, "slots")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[2*1024+40] ^= 1
	b[2*1024+512+40] ^= 1
	os.WriteFile(path, b, 0o600)
	code, out, _ = run(t, cfg, "", "verify")
	if code != 1 || !strings.Contains(out, "consumers: DAMAGED: consumer broken") || !strings.Contains(out, `"consumer rm broken"`) {
		t.Fatalf("verify of a damaged consumer: code %d, output %q", code, out)
	}
	if code, _, errOut := run(t, cfg, "", "consumer", "rm", "broken"); code != 0 {
		t.Fatalf("consumer rm broken: %d %s", code, errOut)
	}
	if code, out, _ := run(t, cfg, "", "verify"); code != 0 || !strings.Contains(out, "consumers: ok, 1 consumers") {
		t.Fatalf("verify after rm: code %d, output %q", code, out)
	}
}
