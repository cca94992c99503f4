package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// samples are the durations of repeated operations.
type samples []time.Duration

// pct returns the p-th percentile (0 < p ≤ 100) by nearest rank, or 0 for
// no samples.
func (s samples) pct(p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	i := int(math.Ceil(p/100*float64(len(c)))) - 1
	return c[max(0, min(i, len(c)-1))]
}

func (s samples) p50() time.Duration { return s.pct(50) }
func (s samples) p99() time.Duration { return s.pct(99) }

// total is the sum of the samples.
func (s samples) total() time.Duration {
	var t time.Duration
	for _, d := range s {
		t += d
	}
	return t
}

// timeLoop calls fn with i = 0, 1, ... and returns the duration of each
// call: first warm unmeasured calls, then up to n measured ones, stopping
// early (after at least min(n, 5)) once budget has passed. It always
// stops by itself; an error from fn or ctx stops it at once.
func timeLoop(ctx context.Context, warm, n int, budget time.Duration, fn func(i int) error) (samples, error) {
	for i := 0; i < warm; i++ {
		if err := fn(i); err != nil {
			return nil, err
		}
	}
	out := make(samples, 0, min(n, 1<<16))
	deadline := time.Now().Add(budget)
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if i >= min(n, 5) && time.Now().After(deadline) {
			break
		}
		t0 := time.Now()
		if err := fn(warm + i); err != nil {
			return out, err
		}
		out = append(out, time.Since(t0))
	}
	return out, nil
}

// fmtDur prints d in ms or µs with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", ms(d))
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", ms(d))
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", ms(d))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fmtRate prints a count per second with thousands separators.
func fmtRate(perSec float64, unit string) string {
	return group(int64(math.Round(perSec))) + " " + unit + "/s"
}

// fmtMBps prints bytes per second as decimal MB/s.
func fmtMBps(bytesPerSec float64) string {
	v := bytesPerSec / 1e6
	if v >= 100 {
		return fmt.Sprintf("%.0f MB/s", v)
	}
	return fmt.Sprintf("%.1f MB/s", v)
}

// fmtMiB prints a byte count in MiB.
func fmtMiB(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// fmtRatio prints a ratio like "1.37×".
func fmtRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "—"
	}
	if r >= 10 {
		return fmt.Sprintf("%.1f×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

// group writes n with thousands separators: 1234567 -> "1,234,567".
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// perSec returns count/d in units per second.
func perSec(count float64, d time.Duration) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return count / d.Seconds()
}

// timeInterleaved calls each of fns in turn, round after round: warm
// unmeasured rounds, then up to n measured ones, stopping early (after at
// least min(n, 5)) once budget has passed. Interleaving spreads any drift
// in the machine's load evenly over the operations being compared. It
// returns one set of samples per fn.
func timeInterleaved(ctx context.Context, warm, n int, budget time.Duration, fns ...func(i int) error) ([]samples, error) {
	out := make([]samples, len(fns))
	deadline := time.Now().Add(budget)
	for round := 0; round < warm+n; round++ {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		measured := round - warm
		if measured >= min(n, 5) && time.Now().After(deadline) {
			break
		}
		for k, fn := range fns {
			t0 := time.Now()
			if err := fn(round); err != nil {
				return out, err
			}
			if measured >= 0 {
				out[k] = append(out[k], time.Since(t0))
			}
		}
	}
	return out, nil
}
