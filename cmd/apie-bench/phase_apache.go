package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"apie/internal/apache"
)

// apacheRows measures apie-cgi under a private Apache against a trivial Go
// CGI program under the same Apache: prefork + mod_cgi (every auth kind)
// and event + mod_cgid (bearer token). Requests say Connection: close.
func (b *bench) apacheRows(ctx context.Context) error {
	ok, err := b.apacheWanted()
	if err != nil {
		return err
	}
	if !ok {
		b.rep.note("Apache rows skipped: %s.", map[bool]string{true: "-apache off", false: "Apache is not installed"}[b.opt.apache == "off"])
		return nil
	}
	cgiBin := filepath.Join(b.work, "cgi-bin")
	if err := os.MkdirAll(cgiBin, 0o755); err != nil {
		return err
	}
	if err := copyFile(b.bin.cgi, filepath.Join(cgiBin, "apie-cgi"), 0o755); err != nil {
		return err
	}
	if err := copyFile(b.bin.trivialCGI, filepath.Join(cgiBin, "trivial-cgi"), 0o755); err != nil {
		return err
	}
	in, err := newInstance(filepath.Join(b.work, "cgi"), b.passwd)
	if err != nil {
		return err
	}
	for _, mpm := range []apache.MPM{apache.Prefork, apache.Event} {
		if err := b.apacheMPM(ctx, mpm, cgiBin, in); err != nil {
			return fmt.Errorf("%s: %w", mpm, err)
		}
	}
	b.res.cgiRan = true
	return nil
}

func (b *bench) apacheMPM(ctx context.Context, mpm apache.MPM, cgiBin string, in *instance) error {
	srv, err := apache.Start(ctx, apache.Options{
		Dir: filepath.Join(b.work, "httpd-"+string(mpm)), MPM: mpm, CGIDir: cgiBin,
		Env: map[string]string{"APIE_CONFIG": in.config}, Writable: []string{in.dir},
	})
	if err != nil {
		return err
	}
	defer srv.Stop(context.Background())
	label := map[apache.MPM]string{apache.Prefork: "prefork + mod_cgi", apache.Event: "event + mod_cgid"}[mpm]

	trivial, err := newClient(srv.CGIURL("trivial-cgi"), nil, false, 1)
	if err != nil {
		return err
	}
	apie, err := newClient(srv.CGIURL("apie-cgi"), user4.login(), false, 1)
	if err != nil {
		return err
	}
	bearer, err := apie.token(ctx)
	if err != nil {
		log, _ := srv.ErrorLog()
		return fmt.Errorf("%w\nApache error log:\n%s", err, log)
	}
	body := bytes.Repeat([]byte("x"), 300)
	next := 3 << 30
	appendOnce := func(c *client) error {
		next++
		_, err := c.call(ctx, http.MethodPost, "/events", appendEvent(next), false, []int{http.StatusCreated})
		return err
	}
	// The trivial CGI, apie-cgi's GET / and its bearer append in turn, so
	// load on the machine falls on all three alike.
	ss, err := timeInterleaved(ctx, 3, b.sz.cgiN, 2*b.sz.budget,
		func(int) error {
			_, err := trivial.call(ctx, http.MethodPost, "/events", body, false, []int{http.StatusOK})
			return err
		},
		func(int) error {
			_, err := apie.with(nil).call(ctx, http.MethodGet, "/", nil, false, []int{http.StatusOK})
			return err
		},
		func(int) error { return appendOnce(apie.with(bearer)) },
	)
	if err != nil {
		return err
	}
	triv, root, sBearer := ss[0], ss[1], ss[2]
	appendLoop := func(c *client, n int) (samples, error) {
		return timeLoop(ctx, 2, n, b.sz.budget, func(int) error { return appendOnce(c) })
	}
	floor := fmt.Sprintf("%s: trivial Go CGI, POST 300 B, same Apache", fmtDur(triv.p50()))
	plus := func(s samples) string {
		return fmt.Sprintf("%+.2f ms (%s)", ms(s.p50()-triv.p50()), fmtRatio(float64(s.p50())/float64(triv.p50())))
	}
	b.rep.add(fmt.Sprintf("apie-cgi under Apache %s: GET / p50 (no auth, no store)", label), fmtDur(root.p50()), floor, plus(root))
	b.rep.add(fmt.Sprintf("apie-cgi under Apache %s: append p50, bearer token", label), fmtDur(sBearer.p50()), floor, plus(sBearer))
	if mpm == apache.Prefork {
		b.res.cgiTrivial, b.res.cgiBearer = triv, sBearer
		s4, err := appendLoop(apie, b.sz.cgiN)
		if err != nil {
			return err
		}
		s10, err := appendLoop(apie.with(user10.login()), b.sz.cgiSlowN)
		if err != nil {
			return err
		}
		b.rep.add(fmt.Sprintf("apie-cgi under Apache %s: append p50, basic auth cost 4", label), fmtDur(s4.p50()), floor, plus(s4))
		b.rep.add(fmt.Sprintf("apie-cgi under Apache %s: append p50, basic auth at default cost 10", label), fmtDur(s10.p50()), floor, plus(s10))
		b.rep.add(fmt.Sprintf("apie-cgi under Apache %s: append p99, bearer token", label), fmtDur(sBearer.p99()),
			fmt.Sprintf("%s: trivial Go CGI p99", fmtDur(triv.p99())),
			fmt.Sprintf("%+.2f ms (%s)", ms(sBearer.p99()-triv.p99()), fmtRatio(float64(sBearer.p99())/float64(triv.p99()))))
	}
	return nil
}
