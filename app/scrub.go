package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"apie/store"
)

// Scrub is apie-serve's background check of the event log: how often and
// how fast.
type Scrub struct {
	Every time.Duration // a whole pass starts this long after the last began; 0 disables the scrub
	Rate  int64         // bytes a second read at most; 0 = no limit
}

// DefaultScrub reads the log at 4 MiB/s once a day (and once at start).
var DefaultScrub = Scrub{Every: 24 * time.Hour, Rate: 4 << 20}

// scrubber is an event log with a paced Verify: the file log, or the log
// in PostgreSQL.
type scrubber interface {
	Scrub(ctx context.Context, rate int64) (store.LogReport, error)
}

// scrubber opens the event log cfg selects, for RunScrub.
func (s *Stores) scrubber(ctx context.Context) (scrubber, error) {
	if s.cfg.EventLog.Postgres != nil {
		if _, err := s.Log(ctx); err != nil {
			return nil, err
		}
		return s.remote.pg, nil
	}
	return s.EventLog(ctx)
}

// RunScrub scrubs the event log cfg selects (eventlog.EventLog.Scrub, or
// pgstore.EventLog.Scrub) right away and then every sc.Every, until ctx
// is done; it returns then. What each pass found goes to logger. On files
// damage is also recorded in the log's damage marker, so appends stop in
// every process until verify passes; on PostgreSQL it is only logged.
// Call it once the stores are open (apie-serve opens them at start):
// Stores is not safe for concurrent first use.
func (s *Stores) RunScrub(ctx context.Context, sc Scrub, logger *slog.Logger) {
	if sc.Every <= 0 {
		return
	}
	l, err := s.scrubber(ctx)
	if err != nil {
		logger.Error("event log scrub: cannot open the event log", "err", err)
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(sc.Every)
		start := time.Now()
		logger.Info("event log scrub started", "rate_bytes_per_second", sc.Rate)
		rep, err := l.Scrub(ctx, sc.Rate)
		switch {
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			logger.Info("event log scrub stopped", "err", err)
			return
		case err != nil:
			logger.Error("event log scrub found a problem", "err", err, "took", time.Since(start))
		default:
			logger.Info("event log scrub passed", "events", rep.Events, "bytes", rep.Bytes, "took", time.Since(start),
				"next", sc.Every)
		}
	}
}
