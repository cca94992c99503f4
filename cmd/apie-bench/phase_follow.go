package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// liveSizes are the live-read phase's sizes, derived from the run's.
type liveSizes struct {
	wakeN     int // appends per wake-up row
	followers int // fan-out followers
	rate      int // appends a second during the fan-out
	fanOut    time.Duration
	idle      time.Duration // CPU measured over this, followers idle
	catchUp   int           // events in the catch-up log
}

func (b *bench) liveSizes() liveSizes {
	if b.sz.name == "tiny" {
		return liveSizes{wakeN: 5, followers: 20, rate: 20, fanOut: time.Second, idle: time.Second, catchUp: b.sz.events}
	}
	return liveSizes{wakeN: 200, followers: 1000, rate: 100, fanOut: 5 * time.Second, idle: 5 * time.Second, catchUp: b.sz.events / 2}
}

// live measures live reads on apie-serve: wake-up latency (append answered
// → the follower has the event) for appends through apie-serve and
// through apie-cgi; fan-out to many followers; the memory and CPU of idle
// followers; and a catch-up follow over a large log against a plain
// NDJSON read of it.
func (b *bench) live(ctx context.Context) error {
	ls := b.liveSizes()
	in, p, c, err := b.serveFresh(ctx, "live", "apie-serve-live.log", 4)
	if err != nil {
		return err
	}
	defer p.stop()
	defer c.close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: ls.followers + 10}}
	defer hc.CloseIdleConnections()
	open := func(ctx context.Context, query string) (*follower, error) {
		return openFollower(ctx, hc, p.url, user4.basic(), query)
	}

	// Wake-up latency, one follower, appends one at a time.
	fctx, stopFollow := context.WithCancel(ctx)
	f, err := open(fctx, "after=head")
	if err != nil {
		stopFollow()
		return err
	}
	wakeRow := func(name string, wake, ack samples) {
		b.rep.add("live: wake-up, "+name+" → apie-serve follower: append sent → follower has it, p50 / p99",
			fmtDur(wake.p50())+" / "+fmtDur(wake.p99()), "append sent → answered: "+fmtDur(ack.p50())+" / "+fmtDur(ack.p99()),
			fmtRatio(float64(wake.p99())/float64(max(ack.p99(), 1))))
	}
	wake, ack, err := wakeLatency(ctx, f, ls.wakeN, func(i int) error {
		_, err := c.call(ctx, http.MethodPost, "/events", appendEvent(i), false, []int{http.StatusCreated})
		return err
	})
	if err == nil {
		wakeRow("apie-serve append", wake, ack)
		wake, ack, err = wakeLatency(ctx, f, ls.wakeN, func(i int) error {
			r, err := runCGI(ctx, b.bin.cgi, in.config, cgiRequest{method: http.MethodPost, path: "/events", auth: user4.basic(), body: appendEvent(1<<20 + i)}, cgiWrap{})
			if err != nil {
				return err
			}
			return r.wantStatus("CGI append", http.StatusCreated)
		})
		if err == nil {
			wakeRow("apie-cgi append", wake, ack)
		}
	}
	stopFollow()
	if err != nil {
		return err
	}
	if err := b.fanOut(ctx, p, c, ls, open); err != nil {
		return err
	}
	return b.catchUp(ctx, c, ls, open)
}

// wakeLatency appends n events with add, one at a time, and times each
// from the append's start to the follower's line (wake) and to the
// append's answer (ack): a follower woken at once has the event about
// when the appender has its answer, often before.
func wakeLatency(ctx context.Context, f *follower, n int, add func(i int) error) (wake, ack samples, err error) {
	for i := range n {
		t0 := time.Now()
		if err := add(i); err != nil {
			return nil, nil, err
		}
		ack = append(ack, time.Since(t0))
		select {
		case got, ok := <-f.events:
			if !ok {
				return nil, nil, fmt.Errorf("follower ended: %v", f.err)
			}
			wake = append(wake, got.Sub(t0))
		case <-time.After(10 * time.Second):
			return nil, nil, fmt.Errorf("wake-up: no event within 10 s of append %d", i)
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return wake, ack, nil
}

// fanOut opens ls.followers followers, measures apie-serve's RSS and CPU
// with them idle, then appends at ls.rate a second and takes every
// delivery's delay after the append was sent.
func (b *bench) fanOut(ctx context.Context, p *proc, c *client, ls liveSizes, open func(context.Context, string) (*follower, error)) error {
	rss0, err := currentRSS(p.pid())
	if err != nil {
		return err
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	fs := make([]*follower, ls.followers)
	for i := range fs {
		if fs[i], err = open(fctx, "after=head"); err != nil {
			return fmt.Errorf("follower %d: %w", i, err)
		}
	}
	for _, f := range fs {
		if err := f.waitCaughtUp(20 * time.Second); err != nil {
			return err
		}
	}
	time.Sleep(500 * time.Millisecond)
	rss1, err := currentRSS(p.pid())
	if err != nil {
		return err
	}
	cpu0, err := cpuTime(p.pid())
	if err != nil {
		return err
	}
	time.Sleep(ls.idle)
	cpu1, err := cpuTime(p.pid())
	if err != nil {
		return err
	}
	perFollower := (rss1 - rss0) / int64(ls.followers)
	b.rep.add(fmt.Sprintf("live: apie-serve RSS per idle follower (%s followers)", group(int64(ls.followers))), fmt.Sprintf("%.1f KiB", float64(perFollower)/1024), "—", "")
	b.rep.add(fmt.Sprintf("live: apie-serve CPU with %s idle followers", group(int64(ls.followers))),
		fmt.Sprintf("CPU %s in %s (%.2f%%; the kernel counts it in 10 ms ticks)", fmtDur(cpu1-cpu0), fmtDur(ls.idle), 100*float64(cpu1-cpu0)/float64(ls.idle)), "—", "")

	// Deliveries: each follower notes when it had each seq; the appender
	// notes when it sent each append (a follower often has the event
	// before the appender has its answer, so the answer is no baseline).
	n := int(float64(ls.rate) * ls.fanOut.Seconds())
	acked := make(map[uint64]time.Time, n)
	// The CPU of apie-serve and of this process (its followers' reading)
	// over the deliveries: the row says whether the bench's own readers
	// could have delayed them on this machine's cores.
	srvCPU0, err := cpuTime(p.pid())
	if err != nil {
		return err
	}
	benchCPU0, err := cpuTime(os.Getpid())
	if err != nil {
		return err
	}
	sent := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(ls.rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		sent := time.Now()
		r, err := c.call(ctx, http.MethodPost, "/events", appendEvent(1<<21+i), true, []int{http.StatusCreated})
		if err != nil {
			return err
		}
		acked[seqOf(r.body)] = sent
	}
	var all samples
	defer func() {
		srvCPU1, err1 := cpuTime(p.pid())
		benchCPU1, err2 := cpuTime(os.Getpid())
		if err1 == nil && err2 == nil {
			wall := time.Since(sent)
			b.rep.add(fmt.Sprintf("live: fan-out CPU over the deliveries (%s followers, %d appends/s): apie-serve / the bench's readers", group(int64(ls.followers)), ls.rate),
				fmt.Sprintf("%.0f%% / %.0f%% of one core", 100*float64(srvCPU1-srvCPU0)/float64(wall), 100*float64(benchCPU1-benchCPU0)/float64(wall)), "—", "")
		}
	}()
	for _, f := range fs {
		got := 0
		for got < n {
			select {
			case <-f.events:
				got++
			case <-time.After(20 * time.Second):
				return fmt.Errorf("fan-out: a follower had %d of %d events after 20 s", got, n)
			}
		}
		f.mu.Lock()
		for seq, at := range f.seen {
			if a, ok := acked[seq]; ok {
				all = append(all, at.Sub(a))
			}
		}
		f.mu.Unlock()
	}
	b.rep.add(fmt.Sprintf("live: fan-out, %s followers at %d appends/s: append sent → every follower has it, p50 / p99", group(int64(ls.followers)), ls.rate),
		fmtDur(all.p50())+" / "+fmtDur(all.p99()), "—", "")
	return nil
}

// catchUp builds a log of ls.catchUp events and compares a follow from
// the start (until caughtUp) with a plain NDJSON read of the same log.
func (b *bench) catchUp(ctx context.Context, c *client, ls liveSizes, open func(context.Context, string) (*follower, error)) error {
	have, err := logCount(ctx, c)
	if err != nil {
		return err
	}
	for i := have; i < ls.catchUp; i += b.sz.batch {
		if _, err := c.call(ctx, http.MethodPost, "/events", appendBatch(1<<22+i, min(b.sz.batch, ls.catchUp-i)), false, []int{http.StatusCreated}); err != nil {
			return err
		}
	}
	// A first read warms the page cache, so neither figure pays for disk.
	if _, err := c.call(ctx, http.MethodGet, "/events", nil, false, []int{http.StatusOK}, "Accept", "application/x-ndjson"); err != nil {
		return err
	}
	// Three rounds, a plain read then a follow in each, so both see the
	// same load; the fastest of each is compared (one ~100 ms figure is
	// at the mercy of whatever else runs on the machine).
	var plain, follow time.Duration
	var r reply
	for round := range 3 {
		t0 := time.Now()
		if r, err = c.call(ctx, http.MethodGet, "/events", nil, false, []int{http.StatusOK}, "Accept", "application/x-ndjson"); err != nil {
			return err
		}
		if d := time.Since(t0); round == 0 || d < plain {
			plain = d
		}
		fctx, stop := context.WithCancel(ctx)
		t0 = time.Now()
		f, err := open(fctx, "")
		if err == nil {
			err = f.waitCaughtUp(10 * time.Minute)
		}
		d := time.Since(t0)
		stop()
		if err != nil {
			return err
		}
		if round == 0 || d < follow {
			follow = d
		}
	}
	rate := func(d time.Duration) float64 { return perSec(float64(r.n), d) }
	b.rep.add(fmt.Sprintf("live: catch-up follow of %s events (until caughtUp) vs plain NDJSON read, fastest of 3 interleaved", group(int64(ls.catchUp))),
		fmtMBps(rate(follow))+" ("+fmtDur(follow)+")", fmtMBps(rate(plain))+" ("+fmtDur(plain)+")", fmtRatio(float64(follow)/float64(plain)))
	return nil
}

// follower is one NDJSON follow: the arrival time of each event line on
// events (and by seq in seen), and caughtUp.
type follower struct {
	events   chan time.Time
	caughtUp chan struct{}
	mu       sync.Mutex
	seen     map[uint64]time.Time
	err      error
}

func openFollower(ctx context.Context, hc *http.Client, base, auth, query string) (*follower, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?follow=true&"+query, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("follow: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("follow: status %d", resp.StatusCode)
	}
	f := &follower{events: make(chan time.Time, 1<<16), caughtUp: make(chan struct{}), seen: map[uint64]time.Time{}}
	go func() {
		defer resp.Body.Close()
		defer close(f.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		caught := false
		for sc.Scan() {
			now := time.Now()
			line := sc.Bytes()
			if bytes.HasPrefix(line, []byte(`{"apie":`)) {
				if !caught && bytes.Contains(line, []byte(`"caughtUp"`)) {
					caught = true
					close(f.caughtUp)
				}
				continue
			}
			if !caught {
				continue // the replay: catchUp times it whole
			}
			f.mu.Lock()
			f.seen[seqOf(line)] = now
			f.mu.Unlock()
			select {
			case f.events <- now:
			default:
			}
		}
		f.err = sc.Err()
	}()
	return f, nil
}

func (f *follower) waitCaughtUp(d time.Duration) error {
	select {
	case <-f.caughtUp:
		return nil
	case <-time.After(d):
		return fmt.Errorf("follow: no caughtUp within %s", d)
	}
}

// seqOf reads the seq of a stored event's JSON: its last member, in JCS
// order, for events without a stream.
func seqOf(rec []byte) uint64 {
	i := bytes.LastIndex(rec, []byte(`"seq":`))
	if i < 0 {
		return 0
	}
	s := rec[i+6:]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, _ := strconv.ParseUint(string(s[:j]), 10, 64)
	return n
}

// currentRSS returns the process's resident set now (VmRSS), in bytes.
func currentRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("RSS of %d: %w", pid, err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("RSS of %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("RSS of %d: no VmRSS line", pid)
}
