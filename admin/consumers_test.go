package admin

import (
	"context"
	"strings"
	"testing"

	"apie/app"
	"apie/event"
	"apie/store"
	"apie/sum"
)

func TestConsumerCommands(t *testing.T) {
	cfg := testConfig(t)
	if code, _, errOut := run(t, cfg, "", "consumers"); code != 1 || !strings.Contains(errOut, "no event log at") {
		t.Fatalf("consumers before any store: got code %d, stderr %q", code, errOut)
	}
	ctx := context.Background()
	stores := app.NewStores(cfg, nil)
	log, err := stores.EventLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := log.Append(ctx, store.AppendRequest{CreatedBy: "a@example.com", Drafts: []event.Draft{
		{EventID: event.NewUUID(), EventType: "t", Body: []byte(`1`)},
		{EventID: event.NewUUID(), EventType: "t", Body: []byte(`2`)},
		{EventID: event.NewUUID(), EventType: "t", Body: []byte(`3`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := stores.Consumers(ctx)
	moves := []store.ConsumerMove{
		{Name: "projector", After: res.Events[0].Hash, Seq: 1, UpdatedBy: "a@example.com"},
		{Name: "mailer", After: sum.Genesis, UpdatedBy: "b@example.com"},
	}
	for _, m := range moves {
		if _, _, err := cs.Move(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	stores.Close()

	steps := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string // parts of stdout, in order
		wantErr  string
	}{
		{"list", []string{"consumers"}, 0, []string{"NAME", "LAG", "mailer", " 0 ", " 3 ", "(start)", "b@example.com",
			"projector", " 1 ", " 2 ", res.Events[0].Hash.String(), "a@example.com"}, ""},
		{"list with an argument", []string{"consumers", "x"}, 2, nil, "takes no arguments"},
		{"rm", []string{"consumer", "rm", "mailer"}, 0, []string{"removed consumer mailer"}, ""},
		{"rm again", []string{"consumer", "rm", "mailer"}, 1, nil, "no consumer mailer"},
		{"rm a bad name", []string{"consumer", "rm", ".."}, 1, nil, "bad consumer name"},
		{"bad subcommand", []string{"consumer", "mv", "a"}, 2, nil, "bad consumer command"},
		{"list after rm", []string{"consumers"}, 0, []string{"projector"}, ""},
	}
	for _, s := range steps {
		code, out, errOut := run(t, cfg, "", s.args...)
		rest := out
		for _, w := range s.wantOut {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: stdout %q lacks %q (in order)", s.name, out, w)
				break
			}
			rest = rest[i+len(w):]
		}
		if code != s.wantCode || !strings.Contains(errOut, s.wantErr) {
			t.Errorf("%s: got code %d, stderr %q; want code %d, stderr with %q", s.name, code, errOut, s.wantCode, s.wantErr)
		}
	}
	if _, out, _ := run(t, cfg, "", "consumers"); strings.Contains(out, "mailer") {
		t.Errorf("removed consumer still listed: %q", out)
	}
}
