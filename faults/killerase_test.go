package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/event"
	"apie/sum"
)

// TestKillErase kills apie-serve with SIGKILL at a random moment while
// two admins' clients erase event bodies and two others append, restarts
// it, and checks after every round: the log (read through the server and
// from the file) holds every event either unchanged with no tombstone or
// erased with its tombstone, never a tombstone without the erasure nor a
// half-written record; every acknowledged erase is erased and its body
// is gone from the disk; an erase whose answer was lost answers 200 when
// retried; POST /events/verify counts exactly the tombstones; and at the
// end `apie-serve verify` passes.
func TestKillErase(t *testing.T) {
	rounds := killRounds()
	r := newRow(t, rowKillErase,
		fmt.Sprintf("%d rounds: 2 clients erasing bodies, 2 appending, SIGKILL at a random moment, restart", rounds))
	s := newStore(t, t.TempDir(), storeOptions{Admins: []string{alice}})
	led := newLedger()
	er := &eraseLedger{secrets: make(map[sum.Hash]string)}
	for round := 0; round <= rounds; round++ {
		srv := s.start(t, serverOptions{})
		c := srv.client(alice, alicePW)
		if round == 0 {
			er.seed(t, c, led, 400)
		}
		retryLost(t, c, led)
		er.retryLost(t, c)
		er.check(t, c, led, s.path("events", "log"))
		if round == rounds {
			srv.Shutdown(t)
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w < 2 {
					errs <- er.eraseUntilDead(ctx, c)
				} else {
					errs <- appendUntilDead(ctx, c, led)
				}
			}()
		}
		time.Sleep(time.Duration(20+randInt(200)) * time.Millisecond)
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
	out := s.mustVerify(t)
	if er.acked == 0 || er.lostCount == 0 {
		t.Fatalf("%d erases acknowledged, %d cut by a kill: the test did not test", er.acked, er.lostCount)
	}
	t.Logf("verify:\n%s", out)
	r.pass(rounds, fmt.Sprintf("%d acknowledged erases kept (body gone from the log file), %d erases cut by the kill each finished or not begun, never a tombstone without its erasure nor a torn record; retries 200; `apie-serve verify` exit 0",
		er.acked, er.lostCount))
}

// eraseLedger remembers the events seeded to be erased (with a secret in
// each body), the erases acknowledged and those whose answer was lost.
type eraseLedger struct {
	mu        sync.Mutex
	secrets   map[sum.Hash]string // seeded event -> the secret in its body
	todo      []sum.Hash          // seeded events not yet asked to be erased
	erased    map[sum.Hash]bool   // acknowledged erases
	lost      []sum.Hash          // erases sent without an answer
	acked     int
	lostCount int
}

// seed appends n events, each with a secret, for the erasers.
func (e *eraseLedger) seed(t testing.TB, c *client, led *ledger, n int) {
	t.Helper()
	e.erased = make(map[sum.Hash]bool)
	const batch = 50
	for i := 0; i < n; i += batch {
		var drafts []string
		var secrets []string
		for j := i; j < min(i+batch, n); j++ {
			_, salt := randomBytes(8)
			secret := fmt.Sprintf("secret-%d-%s@example.com", j, salt[:16])
			secrets = append(secrets, secret)
			drafts = append(drafts, `{"eventType":"person","body":{"email":"`+secret+`"}}`)
		}
		res := c.must(t, "POST", "/events", []byte("["+strings.Join(drafts, ",")+"]"), nil)
		if res.status != http.StatusCreated {
			t.Fatalf("seed: status %d: %s", res.status, res.body)
		}
		if err := led.ackEvents(res.body); err != nil {
			t.Fatal(err)
		}
		evs, err := decodeEvents(res.body)
		if err != nil {
			t.Fatal(err)
		}
		for j, ev := range evs {
			e.secrets[ev.Hash] = secrets[j]
			e.todo = append(e.todo, ev.Hash)
		}
	}
}

// next takes the next event to erase; ok is false when none is left.
func (e *eraseLedger) next() (h sum.Hash, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.todo) == 0 {
		return h, false
	}
	h, e.todo = e.todo[0], e.todo[1:]
	return h, true
}

// eraseUntilDead erases seeded events until a request fails.
func (e *eraseLedger) eraseUntilDead(ctx context.Context, c *client) error {
	for ctx.Err() == nil {
		h, ok := e.next()
		if !ok {
			return nil
		}
		res, err := c.do("POST", "/events/"+h.String()+"/erase", []byte(`{"reason":"kill test"}`), nil)
		if err != nil {
			e.mu.Lock()
			e.lost = append(e.lost, h)
			e.lostCount++
			e.mu.Unlock()
			return nil
		}
		if err := e.ack(h, res); err != nil {
			return err
		}
	}
	return nil
}

// ack checks an erase's answer (200, the tombstone naming h) and records it.
func (e *eraseLedger) ack(h sum.Hash, res response) error {
	if res.status != http.StatusOK {
		return fmt.Errorf("erase %s: status %d, want 200: %s", h, res.status, res.body)
	}
	evs, err := decodeEvents(res.body)
	if err != nil {
		return err
	}
	ts, ok := event.ParseTombstone(&evs[0])
	if !ok || ts.Erased != h {
		return fmt.Errorf("erase %s: answer is not its tombstone: %s", h, res.body)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.erased[h] = true
	e.acked++
	return nil
}

// retryLost erases again the events whose erase lost its answer: 200.
func (e *eraseLedger) retryLost(t testing.TB, c *client) {
	t.Helper()
	e.mu.Lock()
	lost := e.lost
	e.lost = nil
	e.mu.Unlock()
	for _, h := range lost {
		res := c.must(t, "POST", "/events/"+h.String()+"/erase", []byte(`{"reason":"retry"}`), nil)
		if err := e.ack(h, res); err != nil {
			t.Fatal(err)
		}
	}
}

// check reads the log through the server and from its file: both hold
// whole records only, every erased record named by a tombstone and every
// tombstone's event erased (checkChain), every acknowledged event and
// every acknowledged erase; no erased body is left in the file; and
// POST /events/verify counts the tombstones.
func (e *eraseLedger) check(t testing.TB, c *client, led *ledger, logPath string) {
	t.Helper()
	checkServerLog(t, c, led)
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log, err := checkChain(raw)
	if err != nil {
		t.Fatalf("the log file: %v", err)
	}
	tombstones := 0
	for _, ev := range log {
		if ev.EventType == event.ErasedType {
			tombstones++
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for h := range e.erased {
		if ev := log[h]; !ev.Erased() {
			t.Fatalf("acknowledged erase of %s: the event is not erased: %s", h, ev.Body)
		}
		if bytes.Contains(raw, []byte(e.secrets[h])) {
			t.Fatalf("acknowledged erase of %s: its body is still in the log file", h)
		}
	}
	res := c.must(t, "POST", "/events/verify", nil, nil)
	var rep struct {
		Status string `json:"status"`
		Erased int    `json:"erased"`
	}
	if err := json.Unmarshal(res.body, &rep); res.status != http.StatusOK || err != nil || rep.Erased != tombstones {
		t.Fatalf("POST /events/verify: %d %s, want ok with %d erased", res.status, res.body, tombstones)
	}
}
