package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// buildBigLog appends batches until the log holds sz.events events, and
// returns a sample of hashes spread over the whole log.
func (b *bench) buildBigLog(ctx context.Context, c *client) ([]string, error) {
	rep, err := c.call(ctx, http.MethodHead, "/events", nil, false, []int{http.StatusOK})
	if err != nil {
		return nil, err
	}
	have, err := strconv.Atoi(rep.header.Get("X-Apie-Count"))
	if err != nil {
		return nil, fmt.Errorf("HEAD /events: X-Apie-Count %q: %w", rep.header.Get("X-Apie-Count"), err)
	}
	var sample []string
	var sent int64
	t0 := time.Now()
	for n := have; n < b.sz.events; {
		k := min(b.sz.batch, b.sz.events-n)
		body := appendBatch(n, k)
		rep, err := c.call(ctx, http.MethodPost, "/events", body, true, []int{http.StatusCreated})
		if err != nil {
			return nil, err
		}
		hs := eventHashes(rep.body)
		if len(hs) != k {
			return nil, fmt.Errorf("batch at %d: got %d hashes back, want %d", n, len(hs), k)
		}
		for i := 0; i < len(hs); i += max(1, len(hs)/20) {
			sample = append(sample, hs[i])
		}
		sent += int64(len(body))
		n += k
	}
	elapsed := time.Since(t0)
	b.res.bigCount = b.sz.events
	b.rep.add(fmt.Sprintf("build the %s-event log: POST batches of %s events", group(int64(b.sz.events)), group(int64(b.sz.batch))),
		fmt.Sprintf("%s in %s (%s of requests)", fmtRate(perSec(float64(b.sz.events-have), elapsed), "events"), fmtDur(elapsed), fmtMBps(perSec(float64(sent), elapsed))),
		"", "")
	return sample, nil
}

// lookups measures GET /events/<hash> and GET /events?after=<hash>&limit=100
// over hashes, with a spread of starting points.
func (b *bench) lookups(ctx context.Context, c *client, hashes []string) (one, ranged samples, err error) {
	pick := func(i int) string { return hashes[(i*7919)%len(hashes)] }
	one, err = timeLoop(ctx, 20, b.sz.lookupN, b.sz.budget, func(i int) error {
		_, err := c.call(ctx, http.MethodGet, "/events/"+pick(i), nil, false, []int{http.StatusOK})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	ranged, err = timeLoop(ctx, 20, b.sz.lookupN, b.sz.budget, func(i int) error {
		h := pick(i)
		if len(hashes) <= 100 {
			h = hashes[0] // the small log: read (nearly) all of it, 99 events
		}
		_, err := c.call(ctx, http.MethodGet, "/events?after="+h+"&limit=100", nil, false, []int{http.StatusOK})
		return err
	})
	return one, ranged, err
}

func (b *bench) lookupRows() {
	n := group(int64(b.res.bigCount))
	s := group(int64(b.sz.smallEvents))
	b.rep.add(fmt.Sprintf("GET /events/<hash> p50 at %s events", n), fmtDur(b.res.lookupBig.p50()),
		fmt.Sprintf("%s at %s events", fmtDur(b.res.lookupSmall.p50()), s),
		fmtRatio(float64(b.res.lookupBig.p50())/float64(b.res.lookupSmall.p50())))
	b.rep.add(fmt.Sprintf("GET /events?after=<hash>&limit=100 p50 at %s events", n), fmtDur(b.res.rangeBig.p50()),
		fmt.Sprintf("%s at %s events (after the first: 99 events)", fmtDur(b.res.rangeSmall.p50()), s),
		fmtRatio(float64(b.res.rangeBig.p50())/float64(b.res.rangeSmall.p50())))
}

// fullReads reads the whole big log as JSON and as NDJSON and compares
// with reading the log file from the page cache.
func (b *bench) fullReads(ctx context.Context, c *client, in *instance) error {
	logFile := filepath.Join(in.events, "log")
	fi, err := os.Stat(logFile)
	if err != nil {
		return fmt.Errorf("the log file: %w", err)
	}
	if b.res.pageCache, err = pageCacheRead(ctx, logFile, 3); err != nil {
		return err
	}
	if b.res.logSendfile, err = sendfileRate(ctx, logFile, 2); err != nil {
		return err
	}
	floor := fmt.Sprintf("%s: read(2) of the %s log file from the page cache (over loopback TCP with sendfile: %s)",
		fmtMBps(b.res.pageCache), fmtMiB(fi.Size()), fmtMBps(b.res.logSendfile))
	for _, f := range []struct {
		name, accept string
		dst          *float64
		chunked      *bool
	}{
		{"JSON", "application/json", &b.res.readJSON, &b.res.chunkedJSON},
		{"NDJSON", "application/x-ndjson", &b.res.readNDJSON, &b.res.chunkedNDJSON},
	} {
		var read int64
		s, err := timeLoop(ctx, 0, b.sz.readReps, 10*b.sz.budget, func(int) error {
			rep, err := c.call(ctx, http.MethodGet, "/events", nil, false, []int{http.StatusOK}, "Accept", f.accept)
			read += rep.n
			*f.chunked = rep.chunked
			return err
		})
		if err != nil {
			return err
		}
		*f.dst = perSec(float64(read), s.total())
		evs := perSec(float64(b.res.bigCount*len(s)), s.total())
		b.rep.add(fmt.Sprintf("GET /events, whole log, %s events, %s", group(int64(b.res.bigCount)), f.name),
			fmt.Sprintf("%s, %s", fmtRate(evs, "events"), fmtMBps(*f.dst)), floor, fmtRatio(*f.dst/b.res.pageCache))
	}
	return nil
}
