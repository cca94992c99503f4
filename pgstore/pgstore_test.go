package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"apie/event"
	"apie/internal/pgtest"
	"apie/pgstore"
	"apie/store"
)

func open(t *testing.T, dsn, schema string) *pgstore.EventLog {
	t.Helper()
	l, err := pgstore.Open(context.Background(), pgstore.Options{DSN: dsn, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func appendN(t *testing.T, l store.EventLog, n int) {
	t.Helper()
	for i := range n {
		d := event.Draft{EventID: event.NewUUID(), EventType: "t", Body: []byte(fmt.Sprint(i))}
		if _, err := l.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{d}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSharedChain: logs opened separately on the same tables (as separate
// apie-serve processes are) append concurrently into one chain, and each
// sees the other's events.
func TestSharedChain(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	logs := []*pgstore.EventLog{open(t, pg.DSN(), schema), open(t, pg.DSN(), schema), open(t, pg.DSN(), schema)}
	var wg sync.WaitGroup
	for _, l := range logs {
		for range 3 {
			wg.Go(func() { appendN(t, l, 10) })
		}
	}
	wg.Wait()
	ctx := context.Background()
	for i, l := range logs {
		rep, err := l.Verify(ctx, false)
		if err != nil || rep.Events != 90 {
			t.Fatalf("log %d: Verify: got %d events, %v; want 90", i, rep.Events, err)
		}
		if h, err := l.Head(ctx); err != nil || h.Hash != rep.Head {
			t.Fatalf("log %d: Head %s, %v; Verify's head %s", i, h.Hash, err, rep.Head)
		}
	}
}

// TestReopen: a log opened again finds its events; tables of a version it
// does not know are refused.
func TestReopen(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	l := open(t, pg.DSN(), schema)
	appendN(t, l, 3)
	before, _ := l.Head(context.Background())
	l.Close()
	again := open(t, pg.DSN(), schema)
	if after, err := again.Head(context.Background()); err != nil || after != before {
		t.Fatalf("Head after reopening: got %+v, %v; want %+v", after, err, before)
	}
	exec(t, pg.DSN(), "UPDATE "+pgx.Identifier{schema, "meta"}.Sanitize()+" SET version = 99")
	_, err := pgstore.Open(context.Background(), pgstore.Options{DSN: pg.DSN(), Schema: schema})
	if err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("Open of tables at version 99: got %v, want an error naming the version", err)
	}
}

// TestOpenBadDSN: a connection string that does not parse is refused
// without repeating it (it may hold a password).
func TestOpenBadDSN(t *testing.T) {
	_, err := pgstore.Open(context.Background(), pgstore.Options{DSN: "postgres://u:s3cret@host:notaport/db"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v, want an error without the password", err)
	}
}

func exec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestVerifyFindsDamage: Verify reports each kind of damage an operator's
// hand or a broken restore can leave in the tables, and passes the log
// before it.
func TestVerifyFindsDamage(t *testing.T) {
	pg := pgtest.Start(t)
	tests := []struct {
		name    string
		damage  string // SQL with %[1]s for the events table, %[2]s for the head table
		wantSeq uint64
	}{
		{"a body changed", `UPDATE %[1]s SET record = convert_to(replace(convert_from(record, 'UTF8'), '"body":2', '"body":7'), 'UTF8') WHERE seq = 3`, 3},
		{"a record removed", `DELETE FROM %[1]s WHERE seq = 2`, 2},
		{"the head behind", `UPDATE %[2]s SET seq = 3, hash = (SELECT hash FROM %[1]s WHERE seq = 2)`, 3},
		{"a row past the head", `UPDATE %[2]s SET seq = 4, hash = (SELECT hash FROM %[1]s WHERE seq = 4)`, 5},
		{"a lookup hash wrong", `UPDATE %[1]s SET hash = sha256('x') WHERE seq = 4`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema := pg.NewSchema()
			l := open(t, pg.DSN(), schema)
			appendN(t, l, 5)
			if _, err := l.Verify(context.Background(), false); err != nil {
				t.Fatalf("Verify before the damage: %v", err)
			}
			exec(t, pg.DSN(), fmt.Sprintf(tt.damage, pgx.Identifier{schema, "events"}.Sanitize(), pgx.Identifier{schema, "head"}.Sanitize()))
			_, err := l.Verify(context.Background(), false)
			var ce *store.CorruptionError
			if !errors.As(err, &ce) || ce.Seq != tt.wantSeq {
				t.Fatalf("Verify: got %v, want a CorruptionError at seq %d", err, tt.wantSeq)
			}
		})
	}
}
