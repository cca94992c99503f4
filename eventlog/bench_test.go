package eventlog

import (
	"context"
	"fmt"
	"testing"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// benchLog opens a log with production index sizes holding n events,
// appended in large batches.
func benchLog(b *testing.B, n int) (*EventLog, []sum.Hash) {
	b.Helper()
	dir := b.TempDir()
	l, err := OpenEventLog(context.Background(), LogOptions{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	var hs []sum.Hash
	for len(hs) < n {
		k := min(10000, n-len(hs))
		res, err := l.Append(context.Background(), store.AppendRequest{Drafts: appendDrafts(k), CreatedBy: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range res.Events {
			hs = append(hs, ev.Hash)
		}
	}
	return l, hs
}

// BenchmarkAppend appends one event per call, durably (one fsync each).
func BenchmarkAppend(b *testing.B) {
	l, _ := benchLog(b, 0)
	ctx := context.Background()
	body := canonical(`{"title":"milk","n":1}`)
	b.ResetTimer()
	for b.Loop() {
		d := event.Draft{EventID: event.NewUUID(), EventType: "bench", Body: body}
		if _, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel appends one event per call from many goroutines:
// group commit shares each fsync among the callers waiting for it.
func BenchmarkAppendParallel(b *testing.B) {
	l, _ := benchLog(b, 0)
	ctx := context.Background()
	body := canonical(`{"title":"milk","n":1}`)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := event.Draft{EventID: event.NewUUID(), EventType: "bench", Body: body, ClientID: true}
			if _, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLookup looks events up by hash: the cost does not grow with the
// log (a few reads per index level, then the record).
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, hs := benchLog(b, n)
			ctx := context.Background()
			i := 0
			b.ResetTimer()
			for b.Loop() {
				if _, err := l.Lookup(ctx, hs[i%len(hs)]); err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
	}
}

// BenchmarkOpen opens and closes a log, as a CGI request does: the cost
// does not grow with the log.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l, _ := benchLog(b, n)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				o, err := OpenEventLog(ctx, LogOptions{Dir: l.dir})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := o.Head(ctx); err != nil {
					b.Fatal(err)
				}
				if err := o.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
