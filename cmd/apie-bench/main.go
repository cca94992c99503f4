// Command apie-bench is apie's benchmark suite (make bench). It builds
// apie-serve and apie-cgi, starts them on loopback (apie-cgi under a
// private Apache, prefork + mod_cgi and event + mod_cgid), measures them,
// measures the physical floor of each figure in the same run (fsync,
// round trip, page cache, SHA-256 + write, sendfile, a trivial CGI), and
// prints one table of figures, floors and ratios, checks the targets, and
// writes it all to a Markdown file with the machine and the commit.
//
//	apie-bench [-out BENCHMARKS.md] [-quick] [-apache auto|on|off] [-work DIR] [-keep] [-only PHASE]
//
// -quick runs smaller sizes (100k events, a 64 MiB blob) for a fast sanity
// run. With -apache auto the Apache rows are skipped when Apache is not
// installed, unless APIE_REQUIRE_APACHE=1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// sizes are how much a run does. Every loop is bounded by a count and by
// budget, so a run stops by itself.
type sizes struct {
	name        string
	events      int // events in the big log
	smallEvents int // events in the small log the lookups are compared with
	batch       int // events per POST when building the big log
	appendN     int // single-client appends (cost-4 basic)
	authN       int // single-client appends per auth row (cost 10, bearer)
	clients     int // concurrent appenders
	perClient   int // requests per concurrent client in one time slice
	lookupN     int // lookups and ranged reads, each
	readReps    int // full-log reads per format
	smallBlob   int // bytes
	smallBlobN  int
	bigBlob     int // bytes
	bigBlobN    int
	cgiN        int // requests per CGI row under Apache
	cgiSlowN    int // requests per CGI row that pays bcrypt cost 10
	directN     int // direct CGI runs per row
	initRuns    int // inittrace runs
	rounds      int // rounds of alternating throughput slices
	slice       time.Duration
	budget      time.Duration
}

var (
	fullSizes = sizes{
		name: "full", events: 1_000_000, smallEvents: 100, batch: 10_000,
		appendN: 2000, authN: 300, clients: 16, perClient: 2000,
		lookupN: 2000, readReps: 3,
		smallBlob: 1 << 20, smallBlobN: 50, bigBlob: 256 << 20, bigBlobN: 3,
		cgiN: 500, cgiSlowN: 30, directN: 400, initRuns: 30, rounds: 4, slice: 1500 * time.Millisecond, budget: 20 * time.Second,
	}
	quickSizes = sizes{
		name: "quick", events: 100_000, smallEvents: 100, batch: 10_000,
		appendN: 300, authN: 100, clients: 16, perClient: 60,
		lookupN: 300, readReps: 2,
		smallBlob: 1 << 20, smallBlobN: 16, bigBlob: 64 << 20, bigBlobN: 2,
		cgiN: 100, cgiSlowN: 10, directN: 60, initRuns: 8, rounds: 3, slice: 700 * time.Millisecond, budget: 8 * time.Second,
	}
	// tinySizes are for the test that proves the suite works.
	tinySizes = sizes{
		name: "tiny", events: 1000, smallEvents: 100, batch: 400,
		appendN: 20, authN: 5, clients: 4, perClient: 5,
		lookupN: 10, readReps: 1,
		smallBlob: 1 << 20, smallBlobN: 2, bigBlob: 1 << 20, bigBlobN: 1,
		cgiN: 5, cgiSlowN: 2, directN: 5, initRuns: 2, rounds: 2, slice: 150 * time.Millisecond, budget: 5 * time.Second,
	}
)

// options are one run's settings.
type options struct {
	out      string // Markdown file to write; "" for none
	sizes    sizes
	workRoot string // parent of the work directory
	keep     bool   // keep the work directory
	apache   string // auto, on, off
	goBench  bool   // run the sum benchmarks
	only     string // run only the phases whose name starts with this; "" for all
	command  string // how to reproduce, for the report
	stdout   io.Writer
	progress io.Writer
}

func main() {
	os.Exit(cli(os.Args[1:]))
}

func cli(args []string) int {
	fs := flag.NewFlagSet("apie-bench", flag.ContinueOnError)
	out := fs.String("out", "", "write the report as Markdown to this file (make bench: BENCHMARKS.md)")
	quick := fs.Bool("quick", false, "smaller sizes (100k events, 64 MiB blob) for a fast sanity run")
	tiny := fs.Bool("tiny", false, "tiny sizes (1,000 events, 1 MiB blobs, a few requests): checks the suite itself, not apie")
	apacheMode := fs.String("apache", "auto", "Apache rows: auto (skip if not installed, unless APIE_REQUIRE_APACHE=1), on, off")
	work := fs.String("work", defaultWorkRoot(), "directory to create the work directory in (its filesystem is the one measured)")
	keep := fs.Bool("keep", false, "keep the work directory (binaries, data, logs) after the run")
	goBench := fs.Bool("gobench", true, "run the sum package's Go benchmarks (stdlib vs sha256-simd)")
	only := fs.String("only", "", "run only the phases whose name starts with this, or with one of these comma-separated prefixes (e.g. consumers or floors,apie-serve: ap); the other targets are skipped")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch *apacheMode {
	case "auto", "on", "off":
	default:
		fmt.Fprintf(os.Stderr, "apie-bench: -apache %q: want auto, on or off\n", *apacheMode)
		return 2
	}
	opt := options{
		out: *out, only: *only, sizes: fullSizes, workRoot: *work, keep: *keep, apache: *apacheMode, goBench: *goBench,
		command: "make bench", stdout: os.Stdout, progress: os.Stderr,
	}
	if *quick {
		opt.sizes = quickSizes
	}
	if *tiny {
		opt.sizes = tinySizes
	}
	if *quick || *tiny || *out != "BENCHMARKS.md" || *apacheMode != "auto" || *only != "" {
		opt.command = "go run ./cmd/apie-bench " + strings.Join(args, " ")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, opt); err != nil {
		fmt.Fprintf(os.Stderr, "apie-bench: %v\n", err)
		return 1
	}
	return 0
}

// defaultWorkRoot prefers /var/tmp, which is disk-backed where /tmp may
// be a tmpfs (on which fsync costs nothing and the figures would flatter).
func defaultWorkRoot() string {
	if fi, err := os.Stat("/var/tmp"); err == nil && fi.IsDir() {
		return "/var/tmp"
	}
	return os.TempDir()
}
