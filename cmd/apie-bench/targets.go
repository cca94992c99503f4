package main

import (
	"fmt"
	"strings"
	"time"
)

// The targets, as ratios of figures from the same run.
const (
	appendP50Max      = 2.0 // apie-serve append p50 / (fsync + round trip)
	groupCommitMin    = 5.0 // 16-client appends/s / single-writer fsync rate
	cgiOverMax        = 1500 * time.Microsecond
	scanRatioMax      = 1.5  // lookups and ranged reads, big log / small log
	fullReadMin       = 0.25 // full-log MB/s / page-cache MB/s
	blobPutMin        = 0.70 // PUT MB/s / (SHA-256 + write) MB/s
	cgiRSSMax         = 24 << 20
	serveRSSMax       = 128 << 20
	blobUploadRSSMax  = 16 << 20
	sendfileSyscallOK = "sendfile×"
)

// checkTargets records every target as met, not met (with what bounds
// it), or skipped.
func (b *bench) checkTargets() {
	r, rep := &b.res, b.rep
	n := group(int64(r.bigCount))

	if len(r.appendBasic4) > 0 {
		floor, _ := b.appendFloor(50)
		ratio := float64(r.appendBasic4.p50()) / float64(floor)
		rep.check("apie-serve append p50, 1 client", fmt.Sprintf("≤ %.0f× (fsync + trivial round trip)", appendP50Max),
			fmt.Sprintf("%s = %s vs %s", fmtRatio(ratio), fmtDur(r.appendBasic4.p50()), fmtDur(floor)), ratio <= appendP50Max,
			fmt.Sprintf("apie adds %s to each append beyond one fsync (%s) and one trivial round trip (%s): its own request work (auth, parse, JCS, hashing, index writes) or a second sync per commit",
				fmtDur(r.appendBasic4.p50()-floor), fmtDur(r.fsync.p50()), fmtDur(r.rt.p50())))
		ratio = r.concurrent / r.fsyncRate
		rep.check(fmt.Sprintf("apie-serve append throughput, %d clients, durable", b.sz.clients),
			fmt.Sprintf("≥ %.0f× the single-writer fsync rate (group commit)", groupCommitMin),
			fmt.Sprintf("%s = %s vs %s", fmtRatio(ratio), fmtRate(r.concurrent, "events"), fmtRate(r.fsyncRate, "fsyncs")), ratio >= groupCommitMin,
			b.groupBound())
		rep.check(fmt.Sprintf("apie-serve peak RSS under %d clients", b.sz.clients), "≤ "+fmtMiB(serveRSSMax),
			fmtMiB(r.serveRSS), r.serveRSS <= serveRSSMax, "memory held per request or per connection (request bodies read whole, response buffers)")
	}
	b.checkPeerTargets()
	b.checkConsumerTargets()

	if r.cgiRan {
		over := r.cgiBearer.p50() - r.cgiTrivial.p50()
		rep.check("apie-cgi append p50 under Apache prefork + mod_cgi, bearer token", "≤ trivial CGI p50 + 1.5 ms",
			fmt.Sprintf("%+.2f ms (%s vs %s)", ms(over), fmtDur(r.cgiBearer.p50()), fmtDur(r.cgiTrivial.p50())), over <= cgiOverMax,
			b.cgiBound(over))
	} else {
		rep.skip("apie-cgi append p50 under Apache prefork + mod_cgi, bearer token", "≤ trivial CGI p50 + 1.5 ms", "Apache rows did not run")
	}

	if len(r.lookupBig) > 0 {
		for _, x := range []struct {
			name       string
			big, small samples
		}{
			{"GET /events/<hash>", r.lookupBig, r.lookupSmall},
			{"GET /events?after=<hash>&limit=100", r.rangeBig, r.rangeSmall},
		} {
			ratio := float64(x.big.p50()) / float64(x.small.p50())
			rep.check(fmt.Sprintf("%s p50 at %s events", x.name, n), fmt.Sprintf("≤ %.1f× the same at %d events", scanRatioMax, b.sz.smallEvents),
				fmt.Sprintf("%s = %s vs %s", fmtRatio(ratio), fmtDur(x.big.p50()), fmtDur(x.small.p50())), ratio <= scanRatioMax,
				"the lookup grows with the log: an index level probed per size doubling, or records not in the page cache")
		}
		for _, x := range []struct {
			name    string
			v       float64
			chunked bool
		}{{"JSON", r.readJSON, r.chunkedJSON}, {"NDJSON", r.readNDJSON, r.chunkedNDJSON}} {
			ratio := x.v / r.pageCache
			bound := fmt.Sprintf("loopback TCP: sendfile of the same file to a discarding reader reaches %s (%.0f%% of the page-cache rate) on this machine",
				fmtMBps(r.logSendfile), 100*r.logSendfile/r.pageCache)
			if x.chunked {
				bound += "; the response is chunked (no Content-Length), so net/http copies it through user space and cannot use sendfile"
			}
			rep.check(fmt.Sprintf("full-log read, %s events, %s", n, x.name), fmt.Sprintf("≥ %.0f%% of the page-cache read rate", 100*fullReadMin),
				fmt.Sprintf("%.0f%% = %s vs %s", 100*ratio, fmtMBps(x.v), fmtMBps(r.pageCache)), ratio >= fullReadMin, bound)
		}
	}

	if r.putSmall > 0 {
		for _, x := range []struct {
			size       int
			put, floor float64
		}{{b.sz.smallBlob, r.putSmall, r.floorSmall}, {b.sz.bigBlob, r.putBig, r.floorBig}} {
			ratio := x.put / x.floor
			rep.check(fmt.Sprintf("blob PUT %s", fmtMiB(int64(x.size))), fmt.Sprintf("≥ %.0f%% of SHA-256 + write + fsync", 100*blobPutMin),
				fmt.Sprintf("%.0f%% = %s vs %s", 100*ratio, fmtMBps(x.put), fmtMBps(x.floor)), ratio >= blobPutMin,
				b.putBound())
		}
		rep.check("blob GET served with sendfile", "sendfile(2) in the server's system calls", r.sendfileSeen,
			strings.Contains(r.sendfileSeen, sendfileSyscallOK) && !strings.Contains(r.sendfileSeen, "sendfile×0"),
			"the response writer hides io.ReaderFrom (a wrapping middleware), so net/http copies through user space")
		rep.check(fmt.Sprintf("apie-serve peak RSS added by a %s upload", fmtMiB(int64(b.sz.bigBlob))), "≤ "+fmtMiB(blobUploadRSSMax),
			fmtMiB(r.blobRSSDelta), r.blobRSSDelta <= blobUploadRSSMax, "the upload is buffered in memory rather than streamed to disk")
	}

	if r.cgiRSSNDJSON > 0 {
		peak := max(r.cgiRSSJSON, r.cgiRSSNDJSON)
		rep.check(fmt.Sprintf("apie-cgi peak RSS streaming %s events", n), "≤ "+fmtMiB(cgiRSSMax)+" whatever the log size",
			fmtMiB(peak), peak <= cgiRSSMax, "the read path holds more than a buffer: it grows with the log")
	}
}

// cgiBound explains an apie-cgi row that misses its target from the
// direct runs: how much is process start, how much the store and the
// token, how much the append and its syncs.
func (b *bench) cgiBound(over time.Duration) string {
	r := b.res
	if len(r.directRoot) == 0 || len(r.directTrivial) == 0 {
		return fmt.Sprintf("apie-cgi costs %s more than the trivial CGI", fmtDur(over))
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("run directly, apie-cgi GET / costs %s more than the trivial CGI (process start: binary size, package inits, config)",
		fmtDur(r.directRoot.p50()-r.directTrivial.p50())))
	if len(r.directHead) > 0 {
		parts = append(parts, fmt.Sprintf("opening the store and checking the token adds %s (HEAD /events)", fmtDur(r.directHead.p50()-r.directRoot.p50())))
	}
	if len(r.directAppend) > 0 {
		parts = append(parts, fmt.Sprintf("an append adds %s more (POST /events)", fmtDur(r.directAppend.p50()-r.directHead.p50())))
	}
	for _, p := range r.profiles {
		if strings.HasPrefix(p.what, "apie-cgi: POST /events") {
			parts = append(parts, fmt.Sprintf("it makes %d fsync/fdatasync calls where one write + fsync (%s) is the floor", p.calls.syncs(), fmtDur(r.fsync.p50())))
		}
	}
	return strings.Join(parts, "; ")
}

// groupBound explains a missed group-commit target from the CPU each side
// spent per event and from the fsyncs per event under strace.
func (b *bench) groupBound() string {
	r := b.res
	cpu := r.serverCPU + r.clientCPU
	var parts []string
	if cpu > 0 {
		ceiling := float64(b.rep.machine.cores) / cpu.Seconds()
		parts = append(parts, fmt.Sprintf("CPU: apie-serve spends %s and the client %s per event, so %d cores cap the rate near %s, %.1f× the fsync rate",
			fmtDur(r.serverCPU), fmtDur(r.clientCPU), b.rep.machine.cores, fmtRate(ceiling, "events"), ceiling/r.fsyncRate))
	}
	if r.rtConcurrent > 0 {
		parts = append(parts, fmt.Sprintf("the trivial server itself answers %s with %d clients here (%.1f× the fsync rate) at %s CPU a request",
			fmtRate(r.rtConcurrent, "requests"), b.sz.clients, r.rtConcurrent/r.fsyncRate, fmtDur(r.trivialCPU)))
	}
	for _, p := range r.profiles {
		if strings.HasPrefix(p.what, fmt.Sprintf("apie-serve: append, %d clients", b.sz.clients)) && p.per > 0 && p.calls.syncs() > 0 {
			parts = append(parts, fmt.Sprintf("commits are grouped: %.1f events per fsync under strace", float64(p.per)/float64(p.calls.syncs())))
		}
	}
	if len(parts) == 0 {
		return "commits are not grouped enough, or CPU per event bounds the rate"
	}
	return strings.Join(parts, "; ")
}

// putBound explains a missed blob PUT target from the fsyncs a PUT makes.
func (b *bench) putBound() string {
	for _, p := range b.res.profiles {
		if strings.HasPrefix(p.what, "apie-serve: blob PUT") {
			return fmt.Sprintf("a PUT makes %d fsyncs (temp file, metadata file, directories) where the floor makes one; "+
				"reading the body from the socket, hashing and writing also run one after another in one goroutine", p.calls.syncs())
		}
	}
	return "the upload path costs more than hash + write + fsync"
}
