package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"apie/consumerstore"
)

// The consumer targets (issue 12), from figures of the same run.
const (
	moveP50Max  = 1.5 // apie-serve move p50 / append p50, interleaved
	listMax     = 10 * time.Millisecond
	listedCount = 1000
)

// consumerResults are the consumer phase's figures.
type consumerResults struct {
	move, append       samples // apie-serve, 1 client, interleaved
	cgiMove, cgiTriv   samples // apie-cgi run directly with a bearer token, and the trivial CGI
	cgiRoot, cgiAppend samples // apie-cgi GET / (no auth, no store) and an append with the token, same rounds
	listHTTP, listCall samples // 1,000 consumers: GET /consumers, and consumerstore's List
}

// consumers measures a consumer's position move against an append under
// apie-serve (one of each in turn, so both see the same load), a move by
// apie-cgi run directly against the trivial CGI, and listing 1,000
// consumers over HTTP and by the store call. It runs on an instance of
// its own, so it needs no other phase.
func (b *bench) consumers(ctx context.Context) error {
	in, p, c, err := b.serveFresh(ctx, "consumers", "apie-serve-consumers.log", 2)
	if err != nil {
		return err
	}
	defer p.stop()
	defer c.close()
	n := 2*b.sz.appendN + 2*b.sz.directN + 20
	rep, err := c.call(ctx, http.MethodPost, "/events", appendBatch(5<<30, n), true, []int{http.StatusCreated})
	if err != nil {
		return err
	}
	hashes := eventHashes(rep.body)
	if len(hashes) != n {
		return fmt.Errorf("consumer positions: got %d hashes back, want %d", len(hashes), n)
	}
	pos := 0
	moveBody := func() []byte {
		pos++
		return []byte(`{"after":"` + hashes[pos] + `"}`)
	}
	next := 6 << 30
	ss, err := timeInterleaved(ctx, 10, b.sz.appendN, b.sz.budget,
		func(int) error {
			next++
			_, err := c.call(ctx, http.MethodPost, "/events", appendEvent(next), false, []int{http.StatusCreated})
			return err
		},
		func(int) error {
			_, err := c.call(ctx, http.MethodPut, "/consumers/worker", moveBody(), false, []int{http.StatusOK, http.StatusCreated})
			return err
		},
	)
	if err != nil {
		return err
	}
	r := &b.res.cons
	r.append, r.move = ss[0], ss[1]
	ratio := func(a, f samples) string { return fmtRatio(float64(a.p50()) / float64(f.p50())) }
	b.rep.add("apie-serve consumer move p50 (PUT /consumers/<name>), 1 client, basic auth cost 4", fmtDur(r.move.p50()),
		fmt.Sprintf("%s: append p50, same client, interleaved", fmtDur(r.append.p50())), ratio(r.move, r.append))
	b.rep.add("apie-serve consumer move p99", fmtDur(r.move.p99()), fmt.Sprintf("%s: append p99", fmtDur(r.append.p99())),
		fmtRatio(float64(r.move.p99())/float64(r.append.p99())))

	if err := b.listConsumers(ctx, c, in); err != nil {
		return err
	}
	return b.cgiMoves(ctx, in.config, moveBody)
}

// cgiMoves times a move by apie-cgi run directly with a bearer token
// (among the 1,000 consumers listConsumers made), in turn with the
// trivial CGI, apie-cgi GET / (its start alone) and an apie-cgi append
// with the same token: the floors of the same rounds, so that the
// move's own cost shows whatever the machine's load.
func (b *bench) cgiMoves(ctx context.Context, config string, moveBody func() []byte) error {
	out, err := runCGIBody(ctx, b.bin.cgi, config, cgiRequest{method: "POST", path: "/auth/token", auth: user4.basic()})
	if err != nil {
		return err
	}
	bearer, err := bearerFrom(out)
	if err != nil {
		return err
	}
	next := 7 << 30
	ss, err := timeInterleaved(ctx, 3, b.sz.directN, 3*b.sz.budget,
		func(int) error {
			r, err := runCGI(ctx, b.bin.trivialCGI, config, cgiRequest{method: "GET", path: "/"}, cgiWrap{})
			if err != nil {
				return err
			}
			return r.wantStatus("trivial CGI", 200)
		},
		func(int) error {
			r, err := runCGI(ctx, b.bin.cgi, config, cgiRequest{method: "GET", path: "/"}, cgiWrap{})
			if err != nil {
				return err
			}
			return r.wantStatus("apie-cgi GET /", 200)
		},
		func(int) error {
			next++
			r, err := runCGI(ctx, b.bin.cgi, config, cgiRequest{method: "POST", path: "/events", auth: bearer, body: appendEvent(next)}, cgiWrap{})
			if err != nil {
				return err
			}
			return r.wantStatus("apie-cgi POST /events", 201)
		},
		func(int) error {
			r, err := runCGI(ctx, b.bin.cgi, config, cgiRequest{method: "PUT", path: "/consumers/cgi-worker", auth: bearer, body: moveBody()}, cgiWrap{})
			if err != nil {
				return err
			}
			if r.wantStatus("PUT /consumers/cgi-worker", 200) != nil {
				return r.wantStatus("PUT /consumers/cgi-worker", 201)
			}
			return nil
		},
	)
	if err != nil {
		return err
	}
	r := &b.res.cons
	r.cgiTriv, r.cgiRoot, r.cgiAppend, r.cgiMove = ss[0], ss[1], ss[2], ss[3]
	over := func(s samples) string {
		return fmt.Sprintf("%+.2f ms (%s)", ms(s.p50()-r.cgiTriv.p50()), fmtRatio(float64(s.p50())/float64(r.cgiTriv.p50())))
	}
	triv := fmt.Sprintf("%s: trivial net/http/cgi program, GET /, same rounds", fmtDur(r.cgiTriv.p50()))
	b.rep.add("apie-cgi run directly, consumer move p50 (PUT /consumers/<name>, 1,001 consumers), bearer token", fmtDur(r.cgiMove.p50()), triv, over(r.cgiMove))
	b.rep.add("apie-cgi run directly, GET / p50 (its start: no auth, no store), same rounds", fmtDur(r.cgiRoot.p50()), triv, over(r.cgiRoot))
	b.rep.add("apie-cgi run directly, append p50 (POST /events), bearer token, same rounds", fmtDur(r.cgiAppend.p50()), triv, over(r.cgiAppend))
	return nil
}

// listConsumers makes 1,000 consumers and times listing them: GET
// /consumers on apie-serve, and consumerstore's List in this process on
// the same directory (what a CGI request pays beyond its start).
func (b *bench) listConsumers(ctx context.Context, c *client, in *instance) error {
	body := []byte(`{"after":null}`)
	for i := 0; i < listedCount-1; i++ { // "worker" exists
		if _, err := c.call(ctx, http.MethodPut, fmt.Sprintf("/consumers/c%04d", i), body, false, []int{http.StatusCreated}); err != nil {
			return err
		}
	}
	st, err := consumerstore.Open(consumerstore.Options{Dir: filepath.Join(in.events, "consumers")})
	if err != nil {
		return err
	}
	ss, err := timeInterleaved(ctx, 3, b.sz.lookupN/4, b.sz.budget,
		func(int) error {
			rep, err := c.call(ctx, http.MethodGet, "/consumers", nil, false, []int{http.StatusOK})
			if err == nil && rep.n < 100*listedCount {
				err = fmt.Errorf("GET /consumers: %d bytes, too few for %d consumers", rep.n, listedCount)
			}
			return err
		},
		func(int) error {
			l, err := st.List(ctx)
			if err == nil && len(l) != listedCount {
				err = fmt.Errorf("List: %d consumers, want %d", len(l), listedCount)
			}
			return err
		},
	)
	if err != nil {
		return err
	}
	r := &b.res.cons
	r.listHTTP, r.listCall = ss[0], ss[1]
	b.rep.add(fmt.Sprintf("apie-serve GET /consumers, %s consumers: p50", group(listedCount)), fmtDur(r.listHTTP.p50()), "", "")
	b.rep.add(fmt.Sprintf("consumerstore List, %s consumers (one read of the slot file): p50", group(listedCount)), fmtDur(r.listCall.p50()), "", "")
	return nil
}

// bearerFrom reads the token out of a POST /auth/token CGI answer.
func bearerFrom(out string) (string, error) {
	_, rest, ok := strings.Cut(out, `"token":"`)
	tok, _, closed := strings.Cut(rest, `"`)
	if !ok || !closed || tok == "" {
		return "", fmt.Errorf("POST /auth/token via apie-cgi: no token in %q", out)
	}
	return "Bearer " + tok, nil
}

// checkConsumerTargets records the consumer targets, or skips them when
// the phase did not run.
func (b *bench) checkConsumerTargets() {
	r, rep := &b.res.cons, b.rep
	if len(r.move) == 0 {
		rep.skip("apie-serve consumer move p50", fmt.Sprintf("≤ %.1f× append p50", moveP50Max), "the consumer phase did not run")
		return
	}
	ratio := float64(r.move.p50()) / float64(r.append.p50())
	rep.check("apie-serve consumer move p50, 1 client", fmt.Sprintf("≤ %.1f× append p50 (interleaved)", moveP50Max),
		fmt.Sprintf("%s = %s vs %s", fmtRatio(ratio), fmtDur(r.move.p50()), fmtDur(r.append.p50())), ratio <= moveP50Max,
		"a move is one 512-byte pwrite and one fdatasync under a flock, plus resolving the hash to its seq in the log")
	over := r.cgiMove.p50() - r.cgiTriv.p50()
	rep.check("apie-cgi consumer move p50 (run directly), bearer token", "≤ trivial CGI p50 + 1.5 ms",
		fmt.Sprintf("%+.2f ms (%s vs %s)", ms(over), fmtDur(r.cgiMove.p50()), fmtDur(r.cgiTriv.p50())), over <= cgiOverMax,
		fmt.Sprintf("same rounds: apie-cgi's start (GET /) is %+.2f ms over the trivial CGI and an append %+.2f ms; the move opens the log to resolve the hash, reads the slot file's pairs that show the name and makes one fdatasync",
			ms(r.cgiRoot.p50()-r.cgiTriv.p50()), ms(r.cgiAppend.p50()-r.cgiTriv.p50())))
	for _, x := range []struct {
		name string
		s    samples
	}{{"GET /consumers", r.listHTTP}, {"consumerstore List", r.listCall}} {
		rep.check(fmt.Sprintf("%s, %s consumers, p50", x.name, group(listedCount)), "≤ 10 ms",
			fmtDur(x.s.p50()), x.s.p50() <= listMax, "reading and checking 1 MiB of slots, and the JSON of 1,000 consumers")
	}
}
