package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cgiRun is one CGI program run to its end.
type cgiRun struct {
	wall   time.Duration
	maxRSS int64 // bytes, from wait4's rusage
	status string
	out    int64
	stderr string
}

// cgiRequest describes the request a direct run answers.
type cgiRequest struct {
	method, path, query, auth, accept string
	body                              []byte
	extraEnv                          []string
}

// cgiWrap says what to run a CGI program under: rssHelper (the maxrss
// program) to learn its own peak RSS, or strace -f -c writing to straceOut.
type cgiWrap struct {
	rssHelper string
	straceOut string
}

// runCGI runs bin as a CGI program for req, as a web server would (the
// CGI environment, the body on stdin), counting its output, and returns
// its wall time, and its peak RSS when wrap asks.
func runCGI(ctx context.Context, bin, config string, req cgiRequest, wrap cgiWrap) (cgiRun, error) {
	env := []string{
		"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "SERVER_SOFTWARE=apie-bench",
		"SERVER_NAME=127.0.0.1", "SERVER_PORT=80", "REMOTE_ADDR=127.0.0.1", "HTTP_HOST=127.0.0.1",
		"SCRIPT_NAME=/cgi-bin/" + filepath.Base(bin), "PATH=/usr/local/bin:/usr/bin:/bin",
		"REQUEST_METHOD=" + req.method, "PATH_INFO=" + req.path, "QUERY_STRING=" + req.query,
		"APIE_CONFIG=" + config,
	}
	if req.auth != "" {
		env = append(env, "HTTP_AUTHORIZATION="+req.auth)
	}
	if req.accept != "" {
		env = append(env, "HTTP_ACCEPT="+req.accept)
	}
	if req.body != nil {
		env = append(env, "CONTENT_LENGTH="+strconv.Itoa(len(req.body)), "CONTENT_TYPE=application/json")
	}
	env = append(env, req.extraEnv...)
	cmd := exec.CommandContext(ctx, bin)
	var report *os.File
	switch {
	case wrap.straceOut != "":
		cmd = exec.CommandContext(ctx, "strace", "-f", "-c", "-o", wrap.straceOut, "--", bin)
	case wrap.rssHelper != "":
		r, w, err := os.Pipe()
		if err != nil {
			return cgiRun{}, fmt.Errorf("rss report pipe: %w", err)
		}
		defer r.Close()
		report = r
		cmd = exec.CommandContext(ctx, wrap.rssHelper, bin)
		cmd.ExtraFiles = []*os.File{w}
		defer w.Close()
	}
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(req.body)
	head := &headWriter{}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = head, &stderr
	t0 := time.Now()
	err := cmd.Run()
	run := cgiRun{wall: time.Since(t0), out: head.n, stderr: stderr.String()}
	if report != nil {
		cmd.ExtraFiles[0].Close()
		b, _ := io.ReadAll(report)
		kib, perr := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(string(b), "maxrss")), 10, 64)
		if perr != nil && err == nil {
			err = fmt.Errorf("maxrss report %q: %w", b, perr)
		}
		run.maxRSS = kib << 10 // Linux reports KiB
	}
	line, _, _ := strings.Cut(string(head.head), "\n")
	run.status = strings.TrimSpace(strings.TrimPrefix(line, "Status:"))
	if err != nil {
		return run, fmt.Errorf("run %s %s %s: %w\n%s", filepath.Base(bin), req.method, req.path, err, run.stderr)
	}
	return run, nil
}

// headWriter counts what it is given and keeps the first 512 bytes.
type headWriter struct {
	head []byte
	n    int64
}

func (w *headWriter) Write(p []byte) (int, error) {
	if k := 512 - len(w.head); k > 0 {
		w.head = append(w.head, p[:min(k, len(p))]...)
	}
	w.n += int64(len(p))
	return len(p), nil
}

// wantStatus fails unless the run's first line was "Status: <want> ...".
func (r cgiRun) wantStatus(what string, want int) error {
	if !strings.HasPrefix(r.status, strconv.Itoa(want)+" ") {
		return fmt.Errorf("%s: got status %q, want %d; stderr: %s", what, r.status, want, r.stderr)
	}
	return nil
}

// direct runs apie-cgi as a child process against the big log: start
// cost against the trivial CGI, peak RSS while streaming the whole log,
// and which package inits cost the most.
func (b *bench) direct(ctx context.Context) error {
	in := filepath.Join(b.work, "serve", "apie.json")
	bearer, err := b.serveToken(ctx)
	if err != nil {
		return err
	}
	n := group(int64(b.res.bigCount))

	// Peak RSS first, while the log holds exactly the events built.
	for _, f := range []struct {
		name, accept string
		dst          *int64
	}{
		{"JSON", "application/json", &b.res.cgiRSSJSON},
		{"NDJSON", "application/x-ndjson", &b.res.cgiRSSNDJSON},
	} {
		r, err := runCGI(ctx, b.bin.cgi, in, cgiRequest{method: "GET", path: "/events", auth: bearer, accept: f.accept}, cgiWrap{rssHelper: b.bin.maxrss})
		if err != nil {
			return err
		}
		if err := r.wantStatus("GET /events", 200); err != nil {
			return err
		}
		*f.dst = r.maxRSS
		b.rep.add(fmt.Sprintf("apie-cgi peak RSS streaming GET /events, %s events, %s (run directly; wait4 rusage)", n, f.name),
			fmtMiB(r.maxRSS), fmt.Sprintf("%s in %s (%s)", fmtMiB(r.out), fmtDur(r.wall), fmtMBps(perSec(float64(r.out), r.wall))), "")
	}
	tr, err := runCGI(ctx, b.bin.trivialCGI, in, cgiRequest{method: "GET", path: "/"}, cgiWrap{rssHelper: b.bin.maxrss})
	if err != nil {
		return err
	}
	b.rep.add("trivial CGI peak RSS (for scale)", fmtMiB(tr.maxRSS), "", "")

	// Start cost: the trivial CGI and apie-cgi's requests in turn, so load
	// on the machine falls on all alike. The appends grow the log a little.
	next := 4 << 30
	appendReq := func(auth string) cgiRequest {
		next++
		return cgiRequest{method: "POST", path: "/events", auth: auth, body: appendEvent(next)}
	}
	once := func(bin string, req func() cgiRequest, want int) func(int) error {
		return func(int) error {
			q := req()
			r, err := runCGI(ctx, bin, in, q, cgiWrap{})
			if err != nil {
				return err
			}
			return r.wantStatus(q.method+" "+q.path, want)
		}
	}
	fixed := func(q cgiRequest) func() cgiRequest { return func() cgiRequest { return q } }
	ss, err := timeInterleaved(ctx, 3, b.sz.directN, 2*b.sz.budget,
		once(b.bin.trivialCGI, fixed(cgiRequest{method: "GET", path: "/"}), 200),
		once(b.bin.cgi, fixed(cgiRequest{method: "GET", path: "/"}), 200),
		once(b.bin.cgi, fixed(cgiRequest{method: "HEAD", path: "/events", auth: bearer}), 200),
		once(b.bin.cgi, fixed(cgiRequest{method: "HEAD", path: "/events", auth: user4.basic()}), 200),
		once(b.bin.cgi, func() cgiRequest { return appendReq(bearer) }, 201),
	)
	if err != nil {
		return err
	}
	b.res.directTrivial, b.res.directRoot, b.res.directHead, b.res.directAppend = ss[0], ss[1], ss[2], ss[4]
	head4 := ss[3]
	if fa, err := os.Stat(b.bin.cgi); err == nil {
		if ft, err := os.Stat(b.bin.trivialCGI); err == nil {
			b.rep.add("apie-cgi binary size (static, stripped)", fmtMiB(fa.Size()), fmtMiB(ft.Size())+": the trivial CGI, built the same way",
				fmtRatio(float64(fa.Size())/float64(ft.Size())))
		}
	}
	triv := b.res.directTrivial.p50()
	floor := fmt.Sprintf("%s: trivial net/http/cgi program, GET /", fmtDur(triv))
	ratio := func(s samples) string { return fmtRatio(float64(s.p50()) / float64(triv)) }
	b.rep.add("apie-cgi run directly, GET / (no auth, no store): p50 wall time", fmtDur(b.res.directRoot.p50()), floor, ratio(b.res.directRoot))
	b.rep.add(fmt.Sprintf("apie-cgi run directly, HEAD /events, bearer token, %s-event log: p50", n), fmtDur(b.res.directHead.p50()), floor, ratio(b.res.directHead))
	b.rep.add(fmt.Sprintf("apie-cgi run directly, HEAD /events, basic auth cost 4, %s-event log: p50", n), fmtDur(head4.p50()), floor, ratio(head4))
	app := b.res.directAppend
	b.rep.add(fmt.Sprintf("apie-cgi run directly, POST /events (append), bearer token, %s-event log: p50", n), fmtDur(app.p50()),
		fmt.Sprintf("%s = trivial CGI %s + fsync %s", fmtDur(triv+b.res.fsync.p50()), fmtDur(triv), fmtDur(b.res.fsync.p50())),
		fmtRatio(float64(app.p50())/float64(triv+b.res.fsync.p50())))
	if err := b.profileCGI(ctx, in, bearer, appendReq); err != nil {
		b.rep.note("CGI runs not profiled: %v", err)
	}
	return b.inittrace(ctx, in, bearer)
}

// profileCGI counts the system calls of single direct CGI runs.
func (b *bench) profileCGI(ctx context.Context, config, bearer string, appendReq func(string) cgiRequest) error {
	if _, err := exec.LookPath("strace"); err != nil {
		return err
	}
	for i, x := range []struct {
		what string
		bin  string
		req  cgiRequest
		want int
	}{
		{"trivial CGI: GET /", b.bin.trivialCGI, cgiRequest{method: "GET", path: "/"}, 200},
		{"apie-cgi: GET /", b.bin.cgi, cgiRequest{method: "GET", path: "/"}, 200},
		{"apie-cgi: HEAD /events, bearer", b.bin.cgi, cgiRequest{method: "HEAD", path: "/events", auth: bearer}, 200},
		{"apie-cgi: POST /events (append), bearer", b.bin.cgi, appendReq(bearer), 201},
	} {
		out := b.logPath(fmt.Sprintf("strace-cgi-%d.txt", i))
		r, err := runCGI(ctx, x.bin, config, x.req, cgiWrap{straceOut: out})
		if err != nil {
			return err
		}
		if err := r.wantStatus(x.what, x.want); err != nil {
			return err
		}
		b.res.profiles = append(b.res.profiles, profile{x.what + " (run directly)", 1, straceCalls(out)})
	}
	return nil
}

// serveToken gets a bearer token for the serve instance by running
// apie-cgi directly (POST /auth/token), the same way any client would.
func (b *bench) serveToken(ctx context.Context) (string, error) {
	in := filepath.Join(b.work, "serve", "apie.json")
	r, err := runCGIBody(ctx, b.bin.cgi, in, cgiRequest{method: "POST", path: "/auth/token", auth: user4.basic()})
	if err != nil {
		return "", err
	}
	i := strings.Index(r, `"token":"`)
	if i < 0 {
		return "", fmt.Errorf("POST /auth/token via apie-cgi: no token in %q", r)
	}
	tok, _, _ := strings.Cut(r[i+len(`"token":"`):], `"`)
	return "Bearer " + tok, nil
}

// runCGIBody runs a CGI request and returns its whole output.
func runCGIBody(ctx context.Context, bin, config string, req cgiRequest) (string, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{
		"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "SERVER_NAME=127.0.0.1", "SERVER_PORT=80",
		"REMOTE_ADDR=127.0.0.1", "REQUEST_METHOD=" + req.method, "PATH_INFO=" + req.path,
		"SCRIPT_NAME=/cgi-bin/apie-cgi", "HTTP_AUTHORIZATION=" + req.auth, "APIE_CONFIG=" + config,
	}
	cmd.Stdin = bytes.NewReader(req.body)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("run %s %s: %w\n%s", req.method, req.path, err, stderr.String())
	}
	return out.String(), nil
}

// initCost is one package's init time, from GODEBUG=inittrace=1.
type initCost struct {
	pkg   string
	clock time.Duration
	bytes int64
}

// inittrace runs apie-cgi and the trivial CGI with GODEBUG=inittrace=1
// and reports the total init time and the costliest package inits
// (median over the runs).
func (b *bench) inittrace(ctx context.Context, config, bearer string) error {
	var body strings.Builder
	body.WriteString("Each program run directly with a CGI environment and `GODEBUG=inittrace=1`; ")
	fmt.Fprintf(&body, "median over %d runs of each package's init clock time.\n\n", b.sz.initRuns)
	for _, prog := range []struct {
		name string
		bin  string
		req  cgiRequest
	}{
		{"apie-cgi, HEAD /events with a bearer token", b.bin.cgi, cgiRequest{method: "HEAD", path: "/events", auth: bearer}},
		{"trivial CGI, GET /", b.bin.trivialCGI, cgiRequest{method: "GET", path: "/"}},
	} {
		per := map[string][]initCost{}
		var totals []time.Duration
		for i := 0; i < b.sz.initRuns; i++ {
			req := prog.req
			req.extraEnv = []string{"GODEBUG=inittrace=1"}
			r, err := runCGI(ctx, prog.bin, config, req, cgiWrap{})
			if err != nil {
				return err
			}
			costs := parseInittrace(r.stderr)
			var total time.Duration
			for _, c := range costs {
				per[c.pkg] = append(per[c.pkg], c)
				total += c.clock
			}
			totals = append(totals, total)
		}
		var med []initCost
		for pkg, cs := range per {
			slices.SortFunc(cs, func(a, b initCost) int { return int(a.clock - b.clock) })
			m := cs[len(cs)/2]
			m.pkg = pkg
			med = append(med, m)
		}
		slices.SortFunc(med, func(a, b initCost) int { return int(b.clock - a.clock) })
		slices.Sort(totals)
		fmt.Fprintf(&body, "**%s**: %d package inits, %s in total (median).\n\n", prog.name, len(med), fmtDur(totals[len(totals)/2]))
		body.WriteString("| package | init clock | allocated |\n|---|---|---|\n")
		for _, c := range med[:min(len(med), 10)] {
			fmt.Fprintf(&body, "| %s | %s | %s B |\n", c.pkg, fmtDur(c.clock), group(c.bytes))
		}
		body.WriteString("\n")
	}
	b.rep.sections = append(b.rep.sections, section{"Process start: package inits", body.String()})
	return nil
}

// parseInittrace parses lines like
// "init net/http @1.2 ms, 0.31 ms clock, 12345 bytes, 67 allocs".
func parseInittrace(stderr string) []initCost {
	var out []initCost
	for line := range strings.Lines(stderr) {
		f := strings.Fields(line)
		// init PKG @T ms, C ms clock, B bytes, A allocs
		if len(f) < 10 || f[0] != "init" || f[5] != "ms" || !strings.HasPrefix(f[6], "clock") {
			continue
		}
		ms, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		bytes, _ := strconv.ParseInt(f[7], 10, 64)
		out = append(out, initCost{pkg: f[1], clock: time.Duration(ms * float64(time.Millisecond)), bytes: bytes})
	}
	return out
}
