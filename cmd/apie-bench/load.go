package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// concurrentAppends runs clients goroutines, each appending perClient
// single events through c (its own connection each) until budget passes,
// and returns how many were appended and how long it took.
func concurrentAppends(ctx context.Context, c *client, clients, perClient int, budget time.Duration, base int) (int, time.Duration, error) {
	return concurrently(clients, perClient, budget, func(k, i int) error {
		_, err := c.call(ctx, http.MethodPost, "/events", appendEvent(base+k*1_000_000+i), false, []int{http.StatusCreated})
		return err
	})
}

// concurrently runs clients goroutines, each calling fn(k, i) for i = 0,
// 1, ... up to perClient times or until budget passes, and returns how
// many calls succeeded and how long it all took. The first error stops
// its goroutine and is returned.
func concurrently(clients, perClient int, budget time.Duration, fn func(k, i int) error) (int, time.Duration, error) {
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
				if err := fn(k, i); err != nil {
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

// cpuTime returns the CPU time (user + system) the process pid has used,
// from /proc/pid/stat, in clock ticks of 10 ms (Linux's USER_HZ).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time of %d: malformed stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of %d: malformed stat", pid)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15 of stat
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// selfCPU returns this process's CPU time (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// blockRate is what one kind of block did over all its slices.
type blockRate struct {
	count   int
	elapsed time.Duration
	rate    float64 // count per second
}

// alternate runs each block in turn, rounds times; a block works for
// about slice of wall time and returns how many operations it completed.
// Alternating short slices spreads drift in the machine's load evenly
// over the rates it compares.
func alternate(ctx context.Context, rounds int, slice time.Duration, blocks ...func(time.Duration) (int, error)) ([]blockRate, error) {
	out := make([]blockRate, len(blocks))
	for r := 0; r < rounds; r++ {
		for i, block := range blocks {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			t0 := time.Now()
			n, err := block(slice)
			out[i].elapsed += time.Since(t0)
			out[i].count += n
			if err != nil {
				return out, err
			}
		}
	}
	for i := range out {
		out[i].rate = perSec(float64(out[i].count), out[i].elapsed)
	}
	return out, nil
}
