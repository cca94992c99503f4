package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"apie/internal/testutil"
)

// consumerState is a consumer as GET /consumers/<name> shows it.
type consumerState struct {
	Name  string  `json:"name"`
	After *string `json:"after"`
	Seq   int     `json:"seq"`
}

// moveBody is the PUT /consumers/<name> body for a position after event
// seq (seq 0: before the first).
func moveBody(hashes []string, seq int) []byte {
	if seq == 0 {
		return []byte(`{"after":null}`)
	}
	return []byte(`{"after":"` + hashes[seq-1] + `"}`)
}

// etagOf is the If-Match value naming the position after event seq.
func etagOf(hashes []string, seq int) string {
	if seq == 0 {
		return `"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`
	}
	return `"` + hashes[seq-1] + `"`
}

// parseConsumer decodes a consumer and checks that its after and seq
// agree with the log: a torn or mixed-up file could not pass.
func parseConsumer(body []byte, hashes []string) (consumerState, error) {
	var c consumerState
	if err := json.Unmarshal(body, &c); err != nil {
		return c, fmt.Errorf("consumer %q does not parse: %v", body, err)
	}
	switch {
	case c.Seq < 0 || c.Seq > len(hashes):
		return c, fmt.Errorf("consumer %s at seq %d, outside the log", c.Name, c.Seq)
	case c.Seq == 0 && c.After != nil, c.Seq > 0 && (c.After == nil || *c.After != hashes[c.Seq-1]):
		return c, fmt.Errorf("consumer %s: after %v does not name event %d", c.Name, c.After, c.Seq)
	}
	return c, nil
}

// seedEvents appends n events and returns their hashes, oldest first.
func seedEvents(t *testing.T, c *client, n int) []string {
	t.Helper()
	res := c.must(t, "POST", "/events", appendBody(n, true, 16), nil)
	if res.status != http.StatusCreated {
		t.Fatalf("seed: status %d: %s", res.status, res.body)
	}
	var evs []struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(res.body, &evs); err != nil || len(evs) != n {
		t.Fatalf("seed: %v (%d events)", err, len(evs))
	}
	hashes := make([]string, n)
	for i, e := range evs {
		hashes[i] = e.Hash
	}
	return hashes
}

// moveLedger is what the movers of one consumer were told and tried.
type moveLedger struct {
	mu        sync.Mutex
	acked     int         // the highest position a 2xx acknowledged
	attempted int         // the highest position a request asked for
	takenBy   map[int]int // CAS position -> how many acknowledged moves took it
}

func (l *moveLedger) attempt(seq int) {
	l.mu.Lock()
	l.attempted = max(l.attempted, seq)
	l.mu.Unlock()
}

func (l *moveLedger) ack(seq int) {
	l.mu.Lock()
	l.acked = max(l.acked, seq)
	if l.takenBy != nil {
		l.takenBy[seq]++
	}
	l.mu.Unlock()
}

// check fails unless c is at an acknowledged-or-newer-attempted position.
func (l *moveLedger) check(c consumerState) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.Seq < l.acked || c.Seq > l.attempted {
		return fmt.Errorf("consumer %s at seq %d; acknowledged up to %d, attempted up to %d", c.Name, c.Seq, l.acked, l.attempted)
	}
	return nil
}

// TestKillServeConsumers kills apie-serve with SIGKILL at random moments
// while 16 clients move consumers: each its own forward, one step a
// request, and all of them one shared consumer with If-Match
// (compare-and-swap). After every restart each consumer reads back whole
// (its after names the event of its seq) at a position no older than the
// last acknowledged move and no newer than the last attempted one; every
// position of the shared consumer was acknowledged to at most one client.
func TestKillServeConsumers(t *testing.T) {
	const workers, events = 16, 5000
	rounds := killRounds()
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	hashes := seedEvents(t, c, events)
	own := make([]*moveLedger, workers)
	for w := range own {
		own[w] = &moveLedger{}
		c.must(t, "PUT", fmt.Sprintf("/consumers/w%02d", w), moveBody(hashes, 0), nil)
	}
	shared := &moveLedger{takenBy: map[int]int{}}
	c.must(t, "PUT", "/consumers/shared", moveBody(hashes, 0), nil)
	for round := 0; round <= rounds; round++ {
		if round > 0 {
			srv = s.start(t, serverOptions{})
			c = srv.client(alice, alicePW)
		}
		for w := 0; w < workers; w++ {
			st := getConsumer(t, c, fmt.Sprintf("w%02d", w), hashes)
			if err := own[w].check(st); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if err := shared.check(getConsumer(t, c, "shared", hashes)); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if round == rounds {
			srv.Shutdown(t)
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- moveUntilDead(ctx, c, fmt.Sprintf("w%02d", w), own[w], shared, hashes)
			}()
		}
		time.Sleep(time.Duration(50+randInt(250)) * time.Millisecond)
		alive := srv.Kill()
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if !alive {
			t.Fatalf("round %d: apie-serve died before it was killed: %v\n%s", round, srv.Err(), srv.Output)
		}
		c.close()
	}
	for seq, n := range shared.takenBy {
		if n != 1 {
			t.Errorf("shared position %d was acknowledged %d times, want once", seq, n)
		}
	}
	moved := 0
	for _, l := range own {
		moved += l.acked
	}
	if moved == 0 || len(shared.takenBy) == 0 {
		t.Fatalf("no move was acknowledged (%d own, %d shared): the test did not test", moved, len(shared.takenBy))
	}
	t.Logf("%d rounds: %d own moves and %d compare-and-swaps acknowledged", rounds, moved, len(shared.takenBy))
	s.mustVerify(t)
}

// getConsumer reads a consumer and checks it is whole.
func getConsumer(t *testing.T, c *client, name string, hashes []string) consumerState {
	t.Helper()
	res := c.must(t, "GET", "/consumers/"+name, nil, nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET /consumers/%s: status %d: %s", name, res.status, res.body)
	}
	st, err := parseConsumer(res.body, hashes)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// moveUntilDead moves the consumer name forward one step a request, and
// tries to take the shared consumer's next position with If-Match, until a
// request fails (the server was killed).
func moveUntilDead(ctx context.Context, c *client, name string, own, shared *moveLedger, hashes []string) error {
	for ctx.Err() == nil {
		own.mu.Lock()
		next := max(own.acked, own.attempted) + 1
		own.mu.Unlock()
		if next <= len(hashes) {
			own.attempt(next)
			res, err := c.do("PUT", "/consumers/"+name, moveBody(hashes, next), nil)
			if err != nil {
				return nil
			}
			if res.status != http.StatusOK {
				return fmt.Errorf("PUT /consumers/%s to %d: status %d, want 200: %s", name, next, res.status, res.body)
			}
			own.ack(next)
		}
		res, err := c.do("GET", "/consumers/shared", nil, nil)
		if err != nil {
			return nil
		}
		cur, err := parseConsumer(res.body, hashes)
		if err != nil {
			return err
		}
		if cur.Seq >= len(hashes) {
			continue
		}
		shared.attempt(cur.Seq + 1)
		res, err = c.do("PUT", "/consumers/shared", moveBody(hashes, cur.Seq+1), map[string]string{"If-Match": etagOf(hashes, cur.Seq)})
		if err != nil {
			return nil
		}
		switch res.status {
		case http.StatusOK:
			shared.ack(cur.Seq + 1)
		case http.StatusPreconditionFailed:
		default:
			return fmt.Errorf("PUT /consumers/shared: status %d: %s", res.status, res.body)
		}
	}
	return nil
}

// TestCGIConsumerCAS has 16 goroutines, each running apie-cgi processes
// one after another, race to move one consumer forward with If-Match, a
// third of the moves killed with SIGKILL 0–15 ms into the request. Every
// position is acknowledged to at most one process, every read of the
// consumer (by a process) is whole, and at the end the consumer is at an
// acknowledged-or-newer-attempted position.
func TestCGIConsumerCAS(t *testing.T) {
	const workers, target = 16, 40
	s := newStore(t, t.TempDir(), storeOptions{})
	res, _ := s.runCGI(t, cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: appendBody(target, true, 16)}))
	if res.status != http.StatusCreated {
		t.Fatalf("seed: %d %s", res.status, res.body)
	}
	var evs []struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(res.body, &evs); err != nil {
		t.Fatal(err)
	}
	hashes := make([]string, len(evs))
	for i, e := range evs {
		hashes[i] = e.Hash
	}
	if res, _ := s.runCGI(t, cgiAs(cgiRequest{method: "PUT", pathInfo: "/consumers/shared", body: moveBody(hashes, 0)})); res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	led := &moveLedger{takenBy: map[int]int{}}
	var mu sync.Mutex
	kills := 0
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				res, _, err := cgiRun(s, cgiAs(cgiRequest{method: "GET", pathInfo: "/consumers/shared"}), false)
				if err != nil {
					errs <- err
					return
				}
				cur, err := parseConsumer(res.body, hashes)
				if err != nil || res.status != http.StatusOK {
					errs <- fmt.Errorf("GET: %d %s: %v", res.status, res.body, err)
					return
				}
				if cur.Seq >= target {
					errs <- nil
					return
				}
				led.attempt(cur.Seq + 1)
				req := cgiAs(cgiRequest{method: "PUT", pathInfo: "/consumers/shared", body: moveBody(hashes, cur.Seq+1),
					header: map[string]string{"If-Match": etagOf(hashes, cur.Seq)}})
				res, wasKilled, err := cgiRun(s, req, randInt(3) == 0)
				if err != nil {
					errs <- err
					return
				}
				if wasKilled {
					mu.Lock()
					kills++
					mu.Unlock()
					continue
				}
				switch res.status {
				case http.StatusOK:
					led.ack(cur.Seq + 1)
				case http.StatusPreconditionFailed:
				default:
					errs <- fmt.Errorf("PUT: status %d: %s", res.status, res.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for seq, n := range led.takenBy {
		if n != 1 {
			t.Errorf("position %d acknowledged %d times, want once", seq, n)
		}
	}
	res, _ = s.runCGI(t, cgiAs(cgiRequest{method: "GET", pathInfo: "/consumers/shared"}))
	cur, err := parseConsumer(res.body, hashes)
	if err != nil {
		t.Fatal(err)
	}
	if err := led.check(cur); err != nil {
		t.Fatal(err)
	}
	if len(led.takenBy) == 0 {
		t.Fatal("no move was acknowledged: the test did not test")
	}
	t.Logf("%d positions acknowledged, %d processes killed mid-move", len(led.takenBy), kills)
}

// cgiRun runs one apie-cgi request, killing it after 0–15 ms if kill. It
// reports whether the process died of the kill.
func cgiRun(s *store, req cgiRequest, kill bool) (response, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := s.cgiCmd(ctx, req)
	var stdout, stderr testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return response{}, false, err
	}
	if kill {
		time.Sleep(time.Duration(randInt(15000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return response{}, true, nil
		}
	}
	if err != nil {
		return response{}, false, fmt.Errorf("apie-cgi %s %s: %v\nstderr: %s", req.method, req.pathInfo, err, stderr.String())
	}
	res, err := parseCGI([]byte(stdout.String()))
	return res, false, err
}
