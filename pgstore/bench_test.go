package pgstore_test

import (
	"context"
	"fmt"
	"testing"

	"apie/event"
	"apie/internal/pgtest"
	"apie/pgstore"
	"apie/store"
)

// BenchmarkAppend: one-event appends from 16 goroutines on one EventLog
// (one apie-serve's concurrent requests), each acknowledged after its
// COMMIT: with group commit, and with one transaction per append.
func BenchmarkAppend(b *testing.B) {
	pg := pgtest.Start(b)
	for _, mode := range []struct {
		name string
		solo bool
	}{{"group", false}, {"solo", true}} {
		b.Run(mode.name, func(b *testing.B) {
			l, err := pgstore.Open(context.Background(), pgstore.Options{DSN: pg.DSN(), Schema: pg.NewSchema(), NoGroupCommit: mode.solo})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			b.SetParallelism(16)
			b.RunParallel(func(p *testing.PB) {
				i := 0
				for p.Next() {
					i++
					d := event.Draft{EventID: event.NewUUID(), EventType: "bench", Body: []byte(fmt.Sprint(i)), ClientID: true}
					if _, err := l.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{d}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}
