package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// floors measures the single-writer fsync rate and the trivial net/http
// server's round trip alone and under concurrent clients. It leaves the
// fsyncer and the trivial server running for the serve phase, which
// interleaves them with apie's appends.
func (b *bench) floors(ctx context.Context) error {
	fs, err := newFsyncer(filepath.Join(b.work, "floor"), 300)
	if err != nil {
		return err
	}
	b.cleanup(fs.close)
	b.fsyncer = fs
	loop, err := timeLoop(ctx, 5, b.sz.fsyncN, b.sz.budget, fs.once)
	if err != nil {
		return err
	}
	b.res.fsync = loop
	b.res.fsyncRate = perSec(float64(len(loop)), loop.total())

	p, err := startTrivialServe(ctx, b.bin.trivialS, b.logPath("trivial-serve.log"))
	if err != nil {
		return err
	}
	b.cleanup(func() { p.stop() })
	c := newClient(p.url, "", true, 2*b.sz.clients)
	b.cleanup(c.close)
	body := bytes.Repeat([]byte("x"), 300)
	b.trivialRT = func(int) error {
		_, err := c.call(ctx, http.MethodPost, "/events", body, false, []int{http.StatusOK})
		return err
	}
	if b.res.rt, err = timeLoop(ctx, 50, b.sz.rtN, b.sz.budget, b.trivialRT); err != nil {
		return err
	}
	n, elapsed, err := concurrently(b.sz.clients, b.sz.perClient, b.sz.budget, func(int, int) error { return b.trivialRT(0) })
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
