package admin

import (
	"context"
	"strings"
	"testing"

	"apie/app"
	"apie/event"
	"apie/internal/pgtest"
	"apie/store"
)

// TestMigrateStopsAtErased: migrate cannot copy an erased event (its body
// is gone, so appending it again cannot give its hash); from PostgreSQL,
// where the erased record has no padding, it stops at that record and
// says why, rather than calling the source damaged.
func TestMigrateStopsAtErased(t *testing.T) {
	pg := pgtest.Start(t)
	ctx := context.Background()
	src, _ := writeJSONConfig(t, t.TempDir(), map[string]any{
		"eventlog": map[string]any{"postgres": map[string]any{"dsn": pg.DSN(), "schema": pg.NewSchema()}},
	})
	fill(t, src, 3)
	func() {
		s := app.NewStores(src, nil)
		defer s.Close()
		l, err := s.Log(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := l.Record(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.DecodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.(store.Eraser).Erase(ctx, ev.Hash, "test", "admin"); err != nil {
			t.Fatal(err)
		}
	}()
	_, dstPath := writeJSONConfig(t, t.TempDir(), map[string]any{})
	code, _, errOut := run(t, src, "", "migrate", "--to", dstPath)
	if code != 1 || !strings.Contains(errOut, "record 2 is erased") || strings.Contains(errOut, "run verify") {
		t.Fatalf("migrate of a log with an erased event: exit %d, %q; want it to stop at record 2, erased", code, errOut)
	}
}
