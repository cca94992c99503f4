package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"apie/internal/testutil"
)

// TestKillCGI runs bursts of apie-cgi processes, each one append or one
// blob upload, and kills half of them at a random moment: every
// acknowledged write survives, lost appends can be retried, the log
// verifies and takes appends, and upload temp files are cleaned up.
func TestKillCGI(t *testing.T) {
	rounds := killRounds()
	const perRound = 8
	r := newRow(t, rowKillCGI, fmt.Sprintf("%d bursts of %d concurrent apie-cgi processes (appends and uploads, CGI environment, body on stdin), half SIGKILLed after 0–15 ms", rounds, perRound))
	s := newStore(t, t.TempDir(), storeOptions{})
	led := newLedger()
	killed := 0
	// One request creates the log first; TestConcurrentFirstOpen covers
	// processes racing to create it.
	if res, stderr := s.runCGI(t, cgiAs(cgiRequest{method: "HEAD", pathInfo: "/events"})); res.status != http.StatusOK {
		t.Fatalf("HEAD /events on a new store: status %d\n%s", res.status, stderr)
	}
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, perRound)
		var mu sync.Mutex
		for p := 0; p < perRound; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kill := p%2 == 1
				was, err := cgiWrite(s, led, p < 2, kill)
				if was {
					mu.Lock()
					killed++
					mu.Unlock()
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	retried := 0
	for _, body := range led.takeLost() {
		res, _ := s.runCGI(t, cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: body}))
		if res.status != http.StatusOK && res.status != http.StatusCreated {
			t.Fatalf("CGI retry of a lost append: status %d, want 200 or 201: %s", res.status, res.body)
		}
		if err := led.ackEvents(res.body); err != nil {
			t.Fatal(err)
		}
		retried++
	}
	res, _ := s.runCGI(t, cgiAs(cgiRequest{method: "GET", pathInfo: "/events", header: map[string]string{"Accept": "application/x-ndjson"}}))
	log, err := checkChain(res.body)
	if err != nil {
		t.Fatalf("GET /events through CGI: %v", err)
	}
	if err := led.checkAcked(log); err != nil {
		t.Fatal(err)
	}
	for hash, size := range led.blobs {
		res, _ := s.runCGI(t, cgiAs(cgiRequest{method: "GET", pathInfo: "/storage/" + hash}))
		if got := sha256hex(res.body); res.status != http.StatusOK || got != hash || int64(len(res.body)) != size {
			t.Fatalf("GET /storage/%s through CGI: status %d, %d bytes hashing to %s", hash, res.status, len(res.body), got)
		}
	}
	res, _ = s.runCGI(t, cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: appendBody(2, true, 16)}))
	if res.status != http.StatusCreated {
		t.Fatalf("append after the bursts: status %d, want 201: %s", res.status, res.body)
	}
	// Uploads killed mid-body leave temp files; once stale, the next
	// process that opens the blob store removes them.
	parts := ageParts(t, s.path("blobs", "tmp"), 2*time.Hour)
	res, stderr := s.runCGI(t, cgiAs(cgiRequest{method: "GET", pathInfo: "/storage/" + strings.Repeat("0", 64)}))
	if res.status != http.StatusNotFound {
		t.Fatalf("GET of an absent blob: status %d, want 404", res.status)
	}
	if left := listParts(t, s.path("blobs", "tmp")); len(left) > 0 {
		t.Fatalf("stale temp files left after a CGI request opened the blob store: %q\nstderr: %s", left, stderr)
	}
	out := s.mustVerify(t)
	t.Logf("verify:\n%s", out)
	events, blobs := led.counts()
	r.pass(rounds*perRound,
		fmt.Sprintf("%d processes killed mid-request; all %d acknowledged events and %d blobs survived; %d lost appends retried (200/201); %d stale temp files removed; verify exit 0",
			killed, events, blobs, retried, parts))
}

// cgiWrite runs one apie-cgi append (or blob upload, if blob), killing it
// after a random 0–15 ms if kill. It reports whether the process was
// killed before it finished, and records what was acknowledged or lost.
func cgiWrite(s *store, led *ledger, blob, kill bool) (killed bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var req cgiRequest
	var hash string
	var size int
	if blob {
		var data []byte
		data, hash = randomBytes(64<<10 + randInt(1<<20))
		size = len(data)
		req = cgiAs(cgiRequest{method: "PUT", pathInfo: "/storage/burst.bin", body: data,
			header: map[string]string{"Content-Type": "application/octet-stream"}})
	} else {
		n := 1 + randInt(3)
		req = cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: appendBody(n, n > 1, 64),
			header: map[string]string{"Content-Type": "application/json"}})
	}
	cmd := s.cgiCmd(ctx, req)
	var stdout, stderr testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return false, err
	}
	if kill {
		time.Sleep(time.Duration(randInt(15000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			if !blob {
				led.lose(req.body)
			}
			return true, nil
		}
	}
	if err != nil {
		return false, fmt.Errorf("apie-cgi %s %s: %v\nstderr: %s", req.method, req.pathInfo, err, stderr.String())
	}
	res, err := parseCGI([]byte(stdout.String()))
	if err != nil {
		return false, err
	}
	if blob {
		return false, ackBlob(led, res, hash, size)
	}
	if res.status != http.StatusCreated {
		return false, fmt.Errorf("apie-cgi POST /events: status %d, want 201: %s\nstderr: %s", res.status, res.body, stderr.String())
	}
	return false, led.ackEvents(res.body)
}

// TestConcurrentFirstOpen starts a burst of apie-cgi appends on a data
// directory that does not exist yet, as the first requests to a new
// install on a shared host would: every one must succeed, whichever
// process creates the log.
func TestConcurrentFirstOpen(t *testing.T) {
	const procs, rounds = 8, 5
	r := newRow(t, rowFirstOpen, fmt.Sprintf("%d times: %d concurrent apie-cgi appends and uploads on a data directory that does not exist yet", rounds, procs))
	for round := 0; round < rounds; round++ {
		s := newStore(t, t.TempDir(), storeOptions{})
		led := newLedger()
		var wg sync.WaitGroup
		errs := make(chan error, procs)
		for p := 0; p < procs; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cgiWrite(s, led, p%4 == 0, false)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d, %d processes on a new data directory: %v", round, procs, err)
			}
		}
		s.mustVerify(t)
	}
	r.pass(rounds*procs, "every request succeeded (201), whichever process created the log and the blob store; verify exit 0")
}
