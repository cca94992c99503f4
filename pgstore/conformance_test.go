package pgstore_test

import (
	"context"
	"testing"

	"apie/internal/pgtest"
	"apie/pgstore"
	"apie/store"
	"apie/store/storetest"
)

// TestConformance runs the suite every store.EventLog passes, against a
// real PostgreSQL, each subtest in a schema of its own.
func TestConformance(t *testing.T) {
	pg := pgtest.Start(t)
	storetest.EventLog(t, func(t *testing.T) store.EventLog {
		l, err := pgstore.Open(context.Background(), pgstore.Options{DSN: pg.DSN(), Schema: pg.NewSchema()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}
