package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// floors sets up the fsync loop and the trivial net/http server; the
// serve phase measures them interleaved with apie's appends.
func (b *bench) floors(ctx context.Context) error {
	fs, err := newFsyncer(filepath.Join(b.work, "floor"), 300)
	if err != nil {
		return err
	}
	b.cleanup(fs.close)
	b.fsyncer = fs
	p, err := startTrivialServe(ctx, b.bin.trivialS, b.logPath("trivial-serve.log"))
	if err != nil {
		return err
	}
	b.cleanup(func() { p.stop() })
	b.trivialPID = p.pid()
	c, err := newClient(p.url, nil, true, 2*b.sz.clients)
	if err != nil {
		return err
	}
	b.cleanup(c.close)
	body := bytes.Repeat([]byte("x"), 300)
	b.trivialRT = func(int) error {
		_, err := c.call(ctx, http.MethodPost, "/events", body, false, []int{http.StatusOK})
		return err
	}
	// Warm the connections; the serve phase measures.
	_, err = timeLoop(ctx, 0, 50, b.sz.budget, b.trivialRT)
	return err
}

// appendFloor describes fsync + round trip at the same percentile.
func (b *bench) appendFloor(pct float64) (time.Duration, string) {
	f, r := b.res.fsync.pct(pct), b.res.rt.pct(pct)
	return f + r, fmt.Sprintf("%s = fsync %s + trivial round trip %s", fmtDur(f+r), fmtDur(f), fmtDur(r))
}
