package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"apie/config"
	"apie/event"
	"apie/internal/pgtest"
	"apie/internal/testutil"
	"apie/store"
)

// TestScrubOnPostgres: with the log in PostgreSQL, the background scrub
// rechecks its chain: a pass over a sound log is logged as passed, one over
// a log with a record gone as a problem naming the seq.
func TestScrubOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	cfg := config.Defaults(t.TempDir())
	cfg.EventLog.Postgres = &config.Postgres{DSN: pg.DSN(), Schema: schema}
	ctx := context.Background()
	stores := NewStores(cfg, nil)
	defer stores.Close()
	l, err := stores.Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		d := event.Draft{EventID: event.NewUUID(), EventType: "t", Body: []byte(fmt.Sprint(i))}
		if _, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}}); err != nil {
			t.Fatal(err)
		}
	}
	scrubOnce := func() string {
		var out testutil.SyncBuffer
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			stores.RunScrub(ctx, Scrub{Every: time.Hour, Rate: 1 << 20}, slog.New(slog.NewTextHandler(&out, nil)))
		}()
		for !strings.Contains(out.String(), "scrub passed") && !strings.Contains(out.String(), "found a problem") {
			select {
			case <-done: // RunScrub gave up without a pass
				return out.String()
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
		<-done
		return out.String()
	}
	if got := scrubOnce(); !strings.Contains(got, "event log scrub passed") || !strings.Contains(got, "events=4") {
		t.Fatalf("scrub of a sound log logged:\n%s", got)
	}
	conn, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DELETE FROM "+pgx.Identifier{schema, "events"}.Sanitize()+" WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	if got := scrubOnce(); !strings.Contains(got, "found a problem") || !strings.Contains(got, "seq 2") {
		t.Fatalf("scrub of a log without seq 2 logged:\n%s", got)
	}
}
