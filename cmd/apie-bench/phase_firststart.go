package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// firstStarts measures, in turn round after round, a first start of
// apie-serve (an empty directory holding only apie.json with the default
// bcrypt cost: it creates the data directories and the first user) and a
// start of the trivial server: the time from exec to the first answered
// GET /, and for apie-serve also to the first request authenticated with
// the generated password it prints.
func (b *bench) firstStarts(ctx context.Context) error {
	rounds := max(3, b.sz.rounds+1)
	var apie, authd, trivial samples
	for r := 0; r < rounds; r++ {
		a, au, err := b.firstStartApie(ctx, filepath.Join(b.work, "first", strconv.Itoa(r)))
		if err != nil {
			return err
		}
		t, err := b.startTrivialOnce(ctx)
		if err != nil {
			return err
		}
		apie, authd, trivial = append(apie, a), append(authd, au), append(trivial, t)
	}
	b.res.firstStart, b.res.firstAuth, b.res.trivialStart = apie, authd, trivial
	b.rep.add("apie-serve first start: empty directory → first answered GET / (creates the stores and the first user, bcrypt cost 10), median",
		fmtDur(apie.p50()), fmt.Sprintf("%s: the trivial server, exec → first answered request", fmtDur(trivial.p50())),
		fmtRatio(float64(apie.p50())/float64(trivial.p50())))
	b.rep.add("apie-serve first start: empty directory → first request authenticated with the printed password, median",
		fmtDur(authd.p50()), fmt.Sprintf("%s: the trivial server, exec → first answered request", fmtDur(trivial.p50())),
		fmtRatio(float64(authd.p50())/float64(trivial.p50())))
	return nil
}

// firstStartApie starts apie-serve on an empty directory under dir and
// returns the time to the first answered GET / and to the first answered
// GET /info with the first user's credentials, read from its output.
func (b *bench) firstStartApie(ctx context.Context, dir string) (time.Duration, time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	conf, err := json.Marshal(map[string]any{
		"eventlog":     map[string]any{"path": "data/events"},
		"contentstore": map[string]any{"path": "data/blobs"},
		"passwd":       map[string]any{"path": "data/passwd"},
		"auth":         map[string]any{"tokenKey": "data/token.key"},
	})
	if err != nil {
		return 0, 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, "apie.json"), conf, 0o644); err != nil {
		return 0, 0, err
	}
	port, err := freePort()
	if err != nil {
		return 0, 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(b.bin.serve, "-addr", addr, "-config", filepath.Join(dir, "apie.json"), "-first-user", "first@example.com")
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	p, err := launch("apie-serve (first start)", cmd, b.logPath("apie-serve-first.log"), true)
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	pwc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), " with password "); ok {
				pwc <- strings.TrimSpace(rest)
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	url := "http://" + addr
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if err := firstAnswer(ctx, p, hc, url+"/", "", ""); err != nil {
		return 0, 0, err
	}
	up := time.Since(t0)
	var pw string
	select {
	case pw = <-pwc:
	case <-time.After(20 * time.Second):
		return 0, 0, fmt.Errorf("apie-serve first start: no password printed; see %s", p.log)
	}
	if err := firstAnswer(ctx, p, hc, url+"/info", "first@example.com", pw); err != nil {
		return 0, 0, err
	}
	return up, time.Since(t0), nil
}

// startTrivialOnce starts the trivial server and returns the time from
// exec to its first answered request.
func (b *bench) startTrivialOnce(ctx context.Context) (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(b.bin.trivialS, "-addr", addr)
	t0 := time.Now()
	p, err := launch("trivial-serve (start)", cmd, b.logPath("trivial-serve-start.log"), false)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if err := firstAnswer(ctx, p, hc, "http://"+addr+"/", "", ""); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// firstAnswer polls url every 500 µs until it answers 200 (with basic
// auth when user is set), the process exits, or 20 seconds pass.
func firstAnswer(ctx context.Context, p *proc, hc *http.Client, url, user, pw string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := hc.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			if user != "" {
				return fmt.Errorf("%s: GET %s as the first user: status %d", p.name, url, resp.StatusCode)
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited at start (%v); see %s:\n%s", p.name, p.err, p.log, tail(p.log))
		case <-ctx.Done():
			return fmt.Errorf("%s: no answer at %s: %w", p.name, url, ctx.Err())
		case <-time.After(500 * time.Microsecond):
		}
	}
}
