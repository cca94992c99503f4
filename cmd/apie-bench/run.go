package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"apie/internal/apache"
)

// bench is one run in progress.
type bench struct {
	opt    options
	sz     sizes
	repo   string
	work   string
	bin    binaries
	passwd []byte
	rep    *report
	res    results

	// Floors the serve phase interleaves with apie's appends (set by
	// floors).
	fsyncer    *fsyncer
	trivialRT  func(int) error
	trivialPID int
	cleanups   []func()
}

// cleanup registers f to run when the run ends, last registered first.
func (b *bench) cleanup(f func()) { b.cleanups = append(b.cleanups, f) }

// results are the figures the targets are checked against; a zero value
// means the phase did not run.
type results struct {
	fsync        samples // 300-byte write + fsync
	fsyncRate    float64 // single writer, commits/s
	rt           samples // trivial net/http round trip
	rtConcurrent float64 // trivial round trips/s with sz.clients clients

	appendBasic4 samples
	appendBearer samples
	concurrent   float64       // appends/s with sz.clients clients
	serverCPU    time.Duration // apie-serve CPU per event under the concurrent load
	clientCPU    time.Duration // the benchmark's own CPU per event meanwhile
	trivialCPU   time.Duration // the trivial server's CPU per request under the same load
	serveRSS     int64         // apie-serve VmHWM after the concurrent load

	lookupSmall, lookupBig samples
	rangeSmall, rangeBig   samples
	bigCount               int

	readJSON, readNDJSON       float64 // bytes/s
	chunkedJSON, chunkedNDJSON bool    // sent chunked, without Content-Length
	pageCache                  float64 // bytes/s
	logSendfile                float64 // the log file over loopback TCP with sendfile, bytes/s

	putSmall, putBig     float64 // bytes/s
	floorSmall, floorBig float64 // SHA-256 + write + fsync, bytes/s
	sendfileSeen         string  // what strace saw serving a blob GET
	blobRSSDelta         int64

	cgiRSSJSON, cgiRSSNDJSON  int64
	directTrivial, directRoot samples
	directHead, directAppend  samples

	cgiTrivial, cgiBearer samples // under Apache prefork + mod_cgi
	cgiRan                bool

	profiles []profile // strace -c counts per operation

	jetstream, appendVsJS samples // JetStream publish with ack, and apie's append, interleaved

	firstStart, firstAuth, trivialStart samples // exec → first answer

	cons consumerResults
}

// run does the whole benchmark and writes the report; it returns the
// report for tests.
func run(ctx context.Context, opt options) (*report, error) {
	if opt.stdout == nil {
		opt.stdout = io.Discard
	}
	if opt.progress == nil {
		opt.progress = io.Discard
	}
	repo, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.workRoot, 0o755); err != nil {
		return nil, fmt.Errorf("work root: %w", err)
	}
	work, err := os.MkdirTemp(opt.workRoot, "apie-bench-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	if opt.keep {
		fmt.Fprintf(opt.progress, "apie-bench: work directory %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	b := &bench{opt: opt, sz: opt.sizes, repo: repo, work: work, rep: &report{command: opt.command, started: time.Now()}}
	b.rep.machine = describeMachine(ctx, repo, work)
	defer func() {
		for i := len(b.cleanups) - 1; i >= 0; i-- {
			b.cleanups[i]()
		}
	}()
	if err := b.all(ctx); err != nil {
		return b.rep, err
	}
	b.rep.elapsed = time.Since(b.rep.started)
	b.rep.machine.loadEnd = loadAverage()
	b.checkTargets()
	if len(b.res.profiles) > 0 {
		b.rep.sections = append([]section{{"System calls per operation", profileSection(b.res.profiles)}}, b.rep.sections...)
	}
	if err := b.rep.writeText(opt.stdout); err != nil {
		return b.rep, err
	}
	if opt.out != "" {
		var buf bytes.Buffer
		if err := b.rep.writeMarkdown(&buf); err != nil {
			return b.rep, err
		}
		if old, err := os.ReadFile(opt.out); err == nil {
			if tail := handWritten(old); tail != nil {
				buf.WriteString("\n")
				buf.Write(tail)
			}
		}
		if err := os.WriteFile(opt.out, buf.Bytes(), 0o644); err != nil {
			return b.rep, fmt.Errorf("write report: %w", err)
		}
		fmt.Fprintf(opt.progress, "apie-bench: wrote %s\n", opt.out)
	}
	return b.rep, nil
}

// all runs the phases in order: floors, apie-serve (appends, then the big
// log), blobs, apie-cgi run directly, apie-cgi under Apache, hashing.
func (b *bench) all(ctx context.Context) error {
	for _, d := range []string{"bin", "floor", "logs"} {
		if err := os.MkdirAll(filepath.Join(b.work, d), 0o755); err != nil {
			return err
		}
	}
	b.step("building binaries")
	bin, err := build(ctx, b.repo, filepath.Join(b.work, "bin"))
	if err != nil {
		return err
	}
	b.bin = bin
	if b.passwd, err = passwdFile(user4, user10); err != nil {
		return err
	}
	phases := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"floors: fsync loop and trivial round trip", b.floors},
		{"apie-serve: appends, the big log, lookups, full reads", b.serve},
		{"apie-serve: blobs", b.blobs},
		{"backends: appends/s on files and PostgreSQL, 1 and 3 nodes, vs one INSERT per request", b.backends},
		{"first start: apie-serve on an empty directory vs the trivial server", b.firstStarts},
		{"apie-cgi run directly: start, RSS, inittrace", b.direct},
		{"apie-cgi under Apache", b.apacheRows},
		{"consumers: moves vs appends, moves by apie-cgi, listing 1,000", b.consumers},
		{"live reads: wake-up, fan-out, catch-up", b.live},
		{"sum: stdlib vs sha256-simd", b.hashing},
		{"streams: the eventlog package directly", b.streams},
	}
	for _, p := range phases {
		if !b.selected(p.name) {
			continue
		}
		b.step(p.name)
		t0 := time.Now()
		if err := p.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		fmt.Fprintf(b.opt.progress, "apie-bench:   done in %s\n", fmtDur(time.Since(t0)))
	}
	return nil
}

// selected reports whether -only selects the phase named name: it is
// empty, or one of its comma-separated prefixes starts the name.
func (b *bench) selected(name string) bool {
	if b.opt.only == "" {
		return true
	}
	for _, prefix := range strings.Split(b.opt.only, ",") {
		if prefix != "" && strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

func (b *bench) step(what string) {
	fmt.Fprintf(b.opt.progress, "apie-bench: %s\n", what)
}

func (b *bench) logPath(name string) string { return filepath.Join(b.work, "logs", name) }

// apacheWanted reports whether to run the Apache rows: "on" requires
// Apache, "off" skips, "auto" runs them when Apache is installed (and
// requires it when APIE_REQUIRE_APACHE=1).
func (b *bench) apacheWanted() (bool, error) {
	mode := b.opt.apache
	if mode == "auto" && os.Getenv("APIE_REQUIRE_APACHE") == "1" {
		mode = "on"
	}
	switch mode {
	case "off":
		return false, nil
	case "on":
		if _, _, err := apache.Find(); err != nil {
			return false, fmt.Errorf("apache rows required: %w", err)
		}
		return true, nil
	}
	_, _, err := apache.Find()
	if errors.Is(err, apache.ErrNotInstalled) {
		return false, nil
	}
	return err == nil, err
}
