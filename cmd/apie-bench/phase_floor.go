package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// floors measures the fsync loop and the trivial net/http round trip.
func (b *bench) floors(ctx context.Context) error {
	fs, err := fsyncLoop(ctx, filepath.Join(b.work, "floor"), 300, b.sz.fsyncN, b.sz.budget)
	if err != nil {
		return err
	}
	b.res.fsync = fs
	b.res.fsyncRate = perSec(float64(len(fs)), fs.total())

	p, err := startTrivialServe(ctx, b.bin.trivialS, b.logPath("trivial-serve.log"))
	if err != nil {
		return err
	}
	defer p.stop()
	c := newClient(p.url, "", true, 2*b.sz.clients)
	defer c.close()
	body := bytes.Repeat([]byte("x"), 300)
	rt, err := timeLoop(ctx, 50, b.sz.rtN, b.sz.budget, func(int) error {
		_, err := c.call(ctx, http.MethodPost, "/events", body, false, []int{http.StatusOK})
		return err
	})
	if err != nil {
		return err
	}
	b.res.rt = rt
	n, elapsed, err := concurrently(b.sz.clients, b.sz.perClient, b.sz.budget, func(int, int) error {
		_, err := c.call(ctx, http.MethodPost, "/events", body, false, []int{http.StatusOK})
		return err
	})
	if err != nil {
		return err
	}
	b.res.rtConcurrent = perSec(float64(n), elapsed)
	return nil
}

// appendFloor describes fsync + round trip at the same percentile.
func (b *bench) appendFloor(pct float64) (time.Duration, string) {
	f, r := b.res.fsync.pct(pct), b.res.rt.pct(pct)
	return f + r, fmt.Sprintf("%s = fsync %s + trivial round trip %s", fmtDur(f+r), fmtDur(f), fmtDur(r))
}
