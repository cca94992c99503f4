package eventlog

import (
	"apie/store"
	"context"
	"errors"
	"fmt"
	"time"
)

// scrubPaceEvery is how many bytes a scrub reads between looks at its
// rate limit.
const scrubPaceEvery = 64 << 10

// Scrub reads the whole log and checks it as Verify does (hash rule, seq,
// links, seq.idx entries, the indexes; an index with a bad header is left
// to the writer that rebuilds it), for a long-running server to run
// in the background. Unlike Verify it repairs nothing, fixes no modes and
// takes the writer lock only to record damage; it reads at most rate
// bytes a second (0: no limit), so it costs requests little. Damage it
// finds is returned as a *store.CorruptionError and recorded in the damage
// marker, so every process sharing the log refuses appends until a
// Verify passes; a Scrub that passes does not remove a marker. It stops
// when ctx is done (returning its error); cancel it before Close.
func (l *EventLog) Scrub(ctx context.Context, rate int64) (store.LogReport, error) {
	release, err := l.use()
	if err != nil {
		return store.LogReport{}, err
	}
	defer release()
	rep, err := l.check(ctx, true, newPacer(ctx, rate))
	if isCorruption(err) {
		err = errors.Join(err, l.recordFound(context.WithoutCancel(ctx), err, foundByScrub))
	}
	if err != nil {
		return store.LogReport{}, fmt.Errorf("scrub: %w", err)
	}
	return rep, nil
}

// newPacer returns a function to call with the size of each piece read:
// it sleeps as needed to keep the average at most rate bytes a second
// since the first call, and fails once ctx is done. rate ≤ 0 is no limit.
func newPacer(ctx context.Context, rate int64) func(n int) error {
	var start time.Time
	var done, looked int64
	return func(n int) error {
		if start.IsZero() {
			start = time.Now()
		}
		done += int64(n)
		if rate <= 0 || done-looked < scrubPaceEvery {
			return nil
		}
		looked = done
		due := time.Duration(float64(done) / float64(rate) * float64(time.Second))
		wait := due - time.Since(start)
		if wait <= 0 {
			return ctx.Err()
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
}
