package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// System call profiles: untimed runs under strace -c that count what an
// operation asks of the kernel (fsyncs above all). They explain the
// figures; they are not figures themselves, so a missing strace leaves a
// note, not a failure.

// syscallCounts maps a system call's name to how often it was made.
type syscallCounts map[string]int

// total is the number of calls of every kind.
func (c syscallCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// syncs counts the calls that make data durable.
func (c syscallCounts) syncs() int {
	return c["fsync"] + c["fdatasync"] + c["syncfs"] // sync_file_range starts writeback without waiting: not counted
}

// profile is one profiled operation, for the report.
type profile struct {
	what  string
	per   int // operations the counts cover (to print per-operation figures)
	calls syscallCounts
}

// straceAttach runs fn while strace counts the system calls of every
// thread of the running process pid, and returns the counts. The counts
// include whatever else the process did meanwhile (nothing, in this
// benchmark's use).
func straceAttach(ctx context.Context, pid int, out string, fn func() error) (syscallCounts, error) {
	path, err := exec.LookPath("strace")
	if err != nil {
		return nil, fmt.Errorf("strace: %w", err)
	}
	cmd := exec.CommandContext(ctx, path, "-f", "-c", "-o", out, "-p", strconv.Itoa(pid))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("strace: %w", err)
	}
	time.Sleep(500 * time.Millisecond) // let strace attach to every thread
	fnErr := fn()
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if fnErr != nil {
		return nil, fnErr
	}
	calls := straceCalls(out)
	if len(calls) == 0 {
		return nil, fmt.Errorf("strace saw no calls: %s", strings.TrimSpace(stderr.String()))
	}
	return calls, nil
}

// straceCalls parses strace -c output into calls per system call.
func straceCalls(path string) syscallCounts {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := syscallCounts{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 5 || f[len(f)-1] == "total" || f[len(f)-1] == "syscall" {
			continue
		}
		if n, err := strconv.Atoi(f[3]); err == nil {
			out[f[len(f)-1]] = n
		}
	}
	return out
}

// profileSection renders the profiles as a table: per operation, the
// syncs, the writes, the opens and every call, and the five most frequent
// calls.
func profileSection(ps []profile) string {
	var b strings.Builder
	b.WriteString("Untimed runs under `strace -f -c` (attached to apie-serve, or wrapping a directly run CGI program); counts are per operation.\n\n")
	b.WriteString("| operation | fsync + fdatasync | write, pwrite64, writev | openat | all calls | most frequent |\n|---|---|---|---|---|---|\n")
	for _, p := range ps {
		per := float64(max(p.per, 1))
		f := func(n int) string {
			v := float64(n) / per
			if v == float64(int(v)) {
				return strconv.Itoa(int(v))
			}
			return strconv.FormatFloat(v, 'f', 2, 64)
		}
		writes := p.calls["write"] + p.calls["pwrite64"] + p.calls["writev"]
		names := make([]string, 0, len(p.calls))
		for k := range p.calls {
			names = append(names, k)
		}
		slices.SortFunc(names, func(a, b string) int {
			if d := p.calls[b] - p.calls[a]; d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		var top []string
		for _, k := range names[:min(5, len(names))] {
			top = append(top, k+" "+f(p.calls[k]))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", p.what, f(p.calls.syncs()), f(writes), f(p.calls["openat"]),
			f(p.calls.total()), strings.Join(top, ", "))
	}
	return b.String()
}
