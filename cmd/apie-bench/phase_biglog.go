package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"
)

// logCount returns the number of events in the log (HEAD /events).
func logCount(ctx context.Context, c *client) (int, error) {
	rep, err := c.call(ctx, http.MethodHead, "/events", nil, false, []int{http.StatusOK})
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(rep.header.Get("X-Apie-Count"))
	if err != nil {
		return 0, fmt.Errorf("HEAD /events: X-Apie-Count %q: %w", rep.header.Get("X-Apie-Count"), err)
	}
	return n, nil
}

// buildBigLog appends batches until the log holds sz.events events, and
// returns a sample of hashes spread over the whole log.
func (b *bench) buildBigLog(ctx context.Context, c *client) ([]string, error) {
	have, err := logCount(ctx, c)
	if err != nil {
		return nil, err
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
	if b.res.bigCount, err = logCount(ctx, c); err != nil {
		return nil, err
	}
	if len(sample) == 0 {
		// The appends before already filled the log (tiny sizes): sample it.
		rep, err := c.call(ctx, http.MethodGet, "/events", nil, true, []int{http.StatusOK}, "Accept", "application/x-ndjson")
		if err != nil {
			return nil, err
		}
		hs := eventHashes(rep.body)
		for i := 0; i < len(hs); i += max(1, len(hs)/100) {
			sample = append(sample, hs[i])
		}
	}
	if len(sample) == 0 {
		return nil, fmt.Errorf("the big log has no events to look up")
	}
	b.rep.add(fmt.Sprintf("build the %s-event log: POST batches of %s events", group(int64(b.res.bigCount)), group(int64(b.sz.batch))),
		fmt.Sprintf("%s in %s (%s of requests)", fmtRate(perSec(float64(b.res.bigCount-have), elapsed), "events"), fmtDur(elapsed), fmtMBps(perSec(float64(sent), elapsed))),
		"", "")
	return sample, nil
}

// lookups measures GET /events/<hash> and GET
// /events?after=<hash>&limit=100 on the small log and on the big one in
// turn, each over a spread of hashes.
func (b *bench) lookups(ctx context.Context, small *client, smallHashes []string, big *client, bigHashes []string) error {
	pick := func(hs []string, i int) string { return hs[(i*7919)%len(hs)] }
	get := func(c *client, path string) error {
		_, err := c.call(ctx, http.MethodGet, path, nil, false, []int{http.StatusOK})
		return err
	}
	ss, err := timeInterleaved(ctx, 20, b.sz.lookupN, 2*b.sz.budget,
		func(i int) error { return get(small, "/events/"+pick(smallHashes, i)) },
		func(i int) error { return get(big, "/events/"+pick(bigHashes, i)) },
		// The small log from its first event: 99 events, nearly a full page.
		func(int) error { return get(small, "/events?after="+smallHashes[0]+"&limit=100") },
		func(i int) error { return get(big, "/events?after="+pick(bigHashes, i)+"&limit=100") },
	)
	if err != nil {
		return err
	}
	b.res.lookupSmall, b.res.lookupBig, b.res.rangeSmall, b.res.rangeBig = ss[0], ss[1], ss[2], ss[3]
	n := group(int64(b.res.bigCount))
	s := group(int64(b.sz.smallEvents))
	b.rep.add(fmt.Sprintf("GET /events/<hash> p50 at %s events", n), fmtDur(b.res.lookupBig.p50()),
		fmt.Sprintf("%s at %s events (another apie-serve, in turn)", fmtDur(b.res.lookupSmall.p50()), s),
		fmtRatio(float64(b.res.lookupBig.p50())/float64(b.res.lookupSmall.p50())))
	b.rep.add(fmt.Sprintf("GET /events?after=<hash>&limit=100 p50 at %s events", n), fmtDur(b.res.rangeBig.p50()),
		fmt.Sprintf("%s at %s events (after the first: 99 events)", fmtDur(b.res.rangeSmall.p50()), s),
		fmtRatio(float64(b.res.rangeBig.p50())/float64(b.res.rangeSmall.p50())))
	return nil
}

// fullReads reads the whole big log as JSON and as NDJSON, in turn with
// the floors: reading the log file from the page cache, and sending it
// over loopback TCP with sendfile.
func (b *bench) fullReads(ctx context.Context, c *client, in *instance) error {
	logFile := filepath.Join(in.events, "log")
	buf := make([]byte, 256<<10)
	size, err := pageCacheRead(logFile, buf) // warms the page cache
	if err != nil {
		return err
	}
	sf, err := newSendfiler(logFile)
	if err != nil {
		return err
	}
	var bytes [4]int64
	read := func(k int, f func() (int64, error)) func(int) error {
		return func(int) error {
			n, err := f()
			bytes[k] += n
			return err
		}
	}
	get := func(accept string, chunked *bool) func() (int64, error) {
		return func() (int64, error) {
			rep, err := c.call(ctx, http.MethodGet, "/events", nil, false, []int{http.StatusOK}, "Accept", accept)
			*chunked = rep.chunked
			return rep.n, err
		}
	}
	ss, err := timeInterleaved(ctx, 0, b.sz.readReps, 10*b.sz.budget,
		read(0, func() (int64, error) { return pageCacheRead(logFile, buf) }),
		read(1, sf.once),
		read(2, get("application/json", &b.res.chunkedJSON)),
		read(3, get("application/x-ndjson", &b.res.chunkedNDJSON)),
	)
	if cerr := sf.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	rate := func(k int) float64 { return perSec(float64(bytes[k]), ss[k].total()) }
	b.res.pageCache, b.res.logSendfile, b.res.readJSON, b.res.readNDJSON = rate(0), rate(1), rate(2), rate(3)
	floor := fmt.Sprintf("%s: read(2) of the %s log file from the page cache (over loopback TCP with sendfile: %s)",
		fmtMBps(b.res.pageCache), fmtMiB(size), fmtMBps(b.res.logSendfile))
	for _, f := range []struct {
		name string
		k    int
	}{{"JSON", 2}, {"NDJSON", 3}} {
		evs := perSec(float64(b.res.bigCount*len(ss[f.k])), ss[f.k].total())
		b.rep.add(fmt.Sprintf("GET /events, whole log, %s events, %s", group(int64(b.res.bigCount)), f.name),
			fmt.Sprintf("%s, %s", fmtRate(evs, "events"), fmtMBps(rate(f.k))), floor, fmtRatio(rate(f.k)/b.res.pageCache))
	}
	return nil
}
