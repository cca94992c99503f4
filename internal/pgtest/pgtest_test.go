package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestStart: the server starts, runs as someone other than root, and hands
// out databases that are separate and writable.
func TestStart(t *testing.T) {
	s := Start(t)
	ctx := context.Background()
	dsn := s.NewDatabase(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := conn.QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Fatalf("got %d, %v; want 42", x, err)
	}
	if other := s.NewDatabase(t); other == dsn {
		t.Fatalf("NewDatabase gave the same DSN twice: %s", dsn)
	}
}
