package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
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
	c := newClient(p.url, "", true, 4)
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
	return nil
}

// appendFloor describes fsync + round trip at the same percentile.
func (b *bench) appendFloor(pct float64) (time.Duration, string) {
	f, r := b.res.fsync.pct(pct), b.res.rt.pct(pct)
	return f + r, fmt.Sprintf("%s = fsync %s + trivial round trip %s", fmtDur(f+r), fmtDur(f), fmtDur(r))
}

// serve measures apie-serve: appends (one client, each auth kind, then
// concurrent clients), then builds the big log and measures lookups,
// ranged reads and full reads at that size.
func (b *bench) serve(ctx context.Context) error {
	in, err := newInstance(filepath.Join(b.work, "serve"), b.passwd)
	if err != nil {
		return err
	}
	p, err := startServe(ctx, b.bin.serve, in, b.logPath("apie-serve.log"))
	if err != nil {
		return err
	}
	defer p.stop()
	c4 := newClient(p.url, user4.basic(), true, 2*b.sz.clients)
	defer c4.close()
	bearer, err := c4.token(ctx)
	if err != nil {
		return err
	}

	// The small log: lookups and ranged reads at smallEvents.
	rep, err := c4.call(ctx, http.MethodPost, "/events", appendBatch(0, b.sz.smallEvents), true, []int{http.StatusCreated})
	if err != nil {
		return err
	}
	small := eventHashes(rep.body)
	if len(small) != b.sz.smallEvents {
		return fmt.Errorf("small log: got %d hashes back, want %d", len(small), b.sz.smallEvents)
	}
	if b.res.lookupSmall, b.res.rangeSmall, err = b.lookups(ctx, c4, small); err != nil {
		return err
	}

	if err := b.serveAppends(ctx, p, c4, bearer); err != nil {
		return err
	}
	sample, err := b.buildBigLog(ctx, c4)
	if err != nil {
		return err
	}
	if b.res.lookupBig, b.res.rangeBig, err = b.lookups(ctx, c4, sample); err != nil {
		return err
	}
	b.lookupRows()
	return b.fullReads(ctx, c4, in)
}

// serveAppends measures single-client appends for each auth kind, then
// sz.clients concurrent appenders, and apie-serve's peak RSS after them.
func (b *bench) serveAppends(ctx context.Context, p *proc, c4 *client, bearer string) error {
	next := 1 << 30 // event numbers for these appends, apart from the batches'
	appendLoop := func(c *client, warm, n int) (samples, error) {
		return timeLoop(ctx, warm, n, b.sz.budget, func(int) error {
			next++
			_, err := c.call(ctx, http.MethodPost, "/events", appendEvent(next), false, []int{http.StatusCreated})
			return err
		})
	}
	s4, err := appendLoop(c4, 20, b.sz.appendN)
	if err != nil {
		return err
	}
	b.res.appendBasic4 = s4
	f50, d50 := b.appendFloor(50)
	f99, d99 := b.appendFloor(99)
	b.rep.add("apie-serve append p50, 1 client, basic auth (bcrypt cost 4)", fmtDur(s4.p50()), d50, fmtRatio(float64(s4.p50())/float64(f50)))
	b.rep.add("apie-serve append p99, 1 client, basic auth (bcrypt cost 4)", fmtDur(s4.p99()), d99, fmtRatio(float64(s4.p99())/float64(f99)))

	// Cost 10: the first request pays bcrypt; apie-serve caches the
	// verified pair, so the rest should cost what cost 4 does.
	c10 := c4.with(user10.basic())
	first, err := appendLoop(c10, 0, 1)
	if err != nil {
		return err
	}
	s10, err := appendLoop(c10, 0, b.sz.authN)
	if err != nil {
		return err
	}
	b.rep.add("apie-serve append, first request, basic auth at default cost 10 (bcrypt, then cached)", fmtDur(first.p50()), "", "")
	b.rep.add("apie-serve append p50, basic auth at default cost 10 (cached)", fmtDur(s10.p50()), d50, fmtRatio(float64(s10.p50())/float64(f50)))
	sb, err := appendLoop(c4.with(bearer), 5, b.sz.authN)
	if err != nil {
		return err
	}
	b.res.appendBearer = sb
	b.rep.add("apie-serve append p50, bearer token", fmtDur(sb.p50()), d50, fmtRatio(float64(sb.p50())/float64(f50)))

	// Concurrent appenders, each with its own connection.
	done, elapsed, err := concurrentAppends(ctx, c4, b.sz.clients, b.sz.perClient, b.sz.budget, 2<<30)
	if err != nil {
		return err
	}
	b.res.concurrent = perSec(float64(done), elapsed)
	b.rep.add(fmt.Sprintf("apie-serve appends, %d concurrent clients, each durable (events/s)", b.sz.clients),
		fmtRate(b.res.concurrent, "events"),
		fmt.Sprintf("%s: one writer, write + fsync per event", fmtRate(b.res.fsyncRate, "commits")),
		fmtRatio(b.res.concurrent/b.res.fsyncRate))
	rss, err := peakRSS(p.pid())
	if err != nil {
		return err
	}
	b.res.serveRSS = rss
	b.rep.add(fmt.Sprintf("apie-serve peak RSS after the %d-client load", b.sz.clients), fmtMiB(rss), "", "")

	// Untimed: the system calls of one append, and of appends under
	// concurrent clients (fsyncs per event show the grouping).
	const single = 20
	calls, err := straceAttach(ctx, p.pid(), b.logPath("strace-append.txt"), func() error {
		_, err := appendLoop(c4, 0, single)
		return err
	})
	if err != nil {
		b.rep.note("apie-serve appends not profiled: %v", err)
		return nil
	}
	b.res.profiles = append(b.res.profiles, profile{"apie-serve: append, 1 client", single, calls})
	var n int
	calls, err = straceAttach(ctx, p.pid(), b.logPath("strace-append-concurrent.txt"), func() error {
		var err error
		n, _, err = concurrentAppends(ctx, c4, b.sz.clients, 10, b.sz.budget, 3<<30)
		return err
	})
	if err != nil {
		return err
	}
	b.res.profiles = append(b.res.profiles, profile{fmt.Sprintf("apie-serve: append, %d clients (per event)", b.sz.clients), n, calls})
	return nil
}

// concurrentAppends runs clients goroutines, each appending perClient
// single events through c (its own connection each) until budget passes,
// and returns how many were appended and how long it took.
func concurrentAppends(ctx context.Context, c *client, clients, perClient int, budget time.Duration, base int) (int, time.Duration, error) {
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	deadline := t0.Add(budget)
	done := 0
	for k := 0; k < clients; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for i := 0; i < perClient && time.Now().Before(deadline); i++ {
				body := appendEvent(base + k*1_000_000 + i)
				if _, err := c.call(ctx, http.MethodPost, "/events", body, false, []int{http.StatusCreated}); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mu.Lock()
				done++
				mu.Unlock()
			}
		}(k)
	}
	wg.Wait()
	return done, time.Since(t0), firstErr
}

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
	floor := fmt.Sprintf("%s: read(2) of the %s log file from the page cache", fmtMBps(b.res.pageCache), fmtMiB(fi.Size()))
	for _, f := range []struct {
		name, accept string
		dst          *float64
	}{
		{"JSON", "application/json", &b.res.readJSON},
		{"NDJSON", "application/x-ndjson", &b.res.readNDJSON},
	} {
		var read int64
		s, err := timeLoop(ctx, 0, b.sz.readReps, 10*b.sz.budget, func(int) error {
			rep, err := c.call(ctx, http.MethodGet, "/events", nil, false, []int{http.StatusOK}, "Accept", f.accept)
			read += rep.n
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
