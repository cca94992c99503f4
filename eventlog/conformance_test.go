package eventlog_test

import (
	"context"
	"testing"

	"apie/eventlog"
	"apie/store"
	"apie/store/storetest"
)

// TestConformance runs the suite every store.EventLog passes.
func TestConformance(t *testing.T) {
	storetest.EventLog(t, func(t *testing.T) store.EventLog {
		l, err := eventlog.OpenEventLog(context.Background(), eventlog.LogOptions{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	})
}
