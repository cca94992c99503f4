package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	apieclient "apie/client"
)

// serve measures apie-serve: appends (one client, each auth kind, then
// concurrent clients), then builds the big log and measures lookups,
// ranged reads and full reads at that size. A second apie-serve holds a
// small log all along, so the lookups at both sizes are measured in turn
// under the same load.
func (b *bench) serve(ctx context.Context) error {
	in, p, c4, err := b.serveFresh(ctx, "serve", "apie-serve.log", 2*b.sz.clients)
	if err != nil {
		return err
	}
	defer p.stop()
	defer c4.close()
	bearer, err := c4.token(ctx)
	if err != nil {
		return err
	}

	_, sp, small, err := b.serveFresh(ctx, "serve-small", "apie-serve-small.log", 2)
	if err != nil {
		return err
	}
	defer sp.stop()
	defer small.close()
	rep, err := small.call(ctx, http.MethodPost, "/events", appendBatch(0, b.sz.smallEvents), true, []int{http.StatusCreated})
	if err != nil {
		return err
	}
	smallHashes := eventHashes(rep.body)
	if len(smallHashes) != b.sz.smallEvents {
		return fmt.Errorf("small log: got %d hashes back, want %d", len(smallHashes), b.sz.smallEvents)
	}

	if err := b.serveAppends(ctx, p, c4, bearer); err != nil {
		return err
	}
	if err := b.jetstreamRows(ctx, c4); err != nil {
		return err
	}
	bigHashes, err := b.buildBigLog(ctx, c4)
	if err != nil {
		return err
	}
	if err := b.lookups(ctx, small, smallHashes, c4, bigHashes); err != nil {
		return err
	}
	sp.stop()
	if err := b.diskPerEvent(in); err != nil {
		return err
	}
	return b.fullReads(ctx, c4, in)
}

// serveAppends measures single-client appends for each auth kind, then
// sz.clients concurrent appenders, and apie-serve's peak RSS after them.
func (b *bench) serveAppends(ctx context.Context, p *proc, c4 *client, bearer apieclient.Option) error {
	next := 1 << 30 // event numbers for these appends, apart from the batches'
	appendOnce := func(c *client) func(int) error {
		return func(int) error {
			next++
			_, err := c.call(ctx, http.MethodPost, "/events", appendEvent(next), false, []int{http.StatusCreated})
			return err
		}
	}
	// apie's append, a write + fsync and a trivial round trip in turn, so
	// the floor is measured under the same load as the figure.
	ss, err := timeInterleaved(ctx, 20, b.sz.appendN, b.sz.budget, b.fsyncer.once, b.trivialRT, appendOnce(c4))
	if err != nil {
		return err
	}
	b.res.fsync, b.res.rt, b.res.appendBasic4 = ss[0], ss[1], ss[2]
	s4 := ss[2]
	f50, d50 := b.appendFloor(50)
	f99, d99 := b.appendFloor(99)
	b.rep.add("apie-serve append p50, 1 client, basic auth (bcrypt cost 4)", fmtDur(s4.p50()), d50, fmtRatio(float64(s4.p50())/float64(f50)))
	b.rep.add("apie-serve append p99, 1 client, basic auth (bcrypt cost 4)", fmtDur(s4.p99()), d99, fmtRatio(float64(s4.p99())/float64(f99)))

	// Cost 10: the first request pays bcrypt; apie-serve caches the
	// verified pair, so the rest should cost what cost 4 does.
	c10 := c4.with(user10.login())
	first, err := timeLoop(ctx, 0, 1, b.sz.budget, appendOnce(c10))
	if err != nil {
		return err
	}
	ss, err = timeInterleaved(ctx, 5, b.sz.authN, b.sz.budget, appendOnce(c10), appendOnce(c4.with(bearer)))
	if err != nil {
		return err
	}
	s10, sb := ss[0], ss[1]
	b.res.appendBearer = sb
	b.rep.add("apie-serve append, first request, basic auth at default cost 10 (bcrypt, then cached)", fmtDur(first.p50()), "", "")
	b.rep.add("apie-serve append p50, basic auth at default cost 10 (cached)", fmtDur(s10.p50()), d50, fmtRatio(float64(s10.p50())/float64(f50)))
	b.rep.add("apie-serve append p50, bearer token", fmtDur(sb.p50()), d50, fmtRatio(float64(sb.p50())/float64(f50)))

	if err := b.concurrentRows(ctx, p, c4); err != nil {
		return err
	}
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
		_, err := timeLoop(ctx, 0, single, b.sz.budget, appendOnce(c4))
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

// concurrentRows measures, in alternating slices of time (each also
// bounded to sz.perClient requests a client) so they share the machine's
// load, the single-writer fsync rate, the trivial server
// under sz.clients clients, and apie-serve's appends under sz.clients
// clients, with the CPU each side spends per event.
func (b *bench) concurrentRows(ctx context.Context, p *proc, c4 *client) error {
	var srvCPU, cliCPU, trivCPU time.Duration
	base := 2 << 30
	blocks := []func(time.Duration) (int, error){
		func(d time.Duration) (int, error) {
			s, err := timeLoop(ctx, 0, 1<<30, d, b.fsyncer.once)
			return len(s), err
		},
		func(d time.Duration) (int, error) {
			t0, err := cpuTime(b.trivialPID)
			if err != nil {
				return 0, err
			}
			n, _, err := concurrently(b.sz.clients, b.sz.perClient, d, func(int, int) error { return b.trivialRT(0) })
			t1, cerr := cpuTime(b.trivialPID)
			if err == nil {
				err = cerr
			}
			trivCPU += t1 - t0
			return n, err
		},
		func(d time.Duration) (int, error) {
			s0, err := cpuTime(p.pid())
			if err != nil {
				return 0, err
			}
			c0 := selfCPU()
			n, _, err := concurrentAppends(ctx, c4, b.sz.clients, b.sz.perClient, d, base)
			base += 1 << 26
			s1, cerr := cpuTime(p.pid())
			if err == nil {
				err = cerr
			}
			srvCPU += s1 - s0
			cliCPU += selfCPU() - c0
			return n, err
		},
	}
	rates, err := alternate(ctx, b.sz.rounds, b.sz.slice, blocks...)
	if err != nil {
		return err
	}
	b.res.fsyncRate, b.res.rtConcurrent, b.res.concurrent = rates[0].rate, rates[1].rate, rates[2].rate
	if n := rates[2].count; n > 0 {
		b.res.serverCPU, b.res.clientCPU = srvCPU/time.Duration(n), cliCPU/time.Duration(n)
	}
	if n := rates[1].count; n > 0 {
		b.res.trivialCPU = trivCPU / time.Duration(n)
	}
	b.rep.add(fmt.Sprintf("apie-serve appends, %d concurrent clients, each durable (events/s)", b.sz.clients),
		fmt.Sprintf("%s (CPU per event: apie-serve %s, the client %s)", fmtRate(b.res.concurrent, "events"), fmtDur(b.res.serverCPU), fmtDur(b.res.clientCPU)),
		fmt.Sprintf("%s: one writer, write + fsync per event (the trivial server answers %s with %d clients, at %s CPU a request)",
			fmtRate(b.res.fsyncRate, "commits"), fmtRate(b.res.rtConcurrent, "requests"), b.sz.clients, fmtDur(b.res.trivialCPU)),
		fmtRatio(b.res.concurrent/b.res.fsyncRate))
	return nil
}
