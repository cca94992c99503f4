package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// killRounds is how many times each kill test kills apie: enough to hit
// appends at many points, few enough for the package's time budget.
func killRounds() int {
	if testing.Short() {
		return 4
	}
	return 15
}

// TestKillServe kills apie-serve with SIGKILL at a random moment while
// four clients append events and batches and one uploads blobs, restarts
// it, and checks after every round that every acknowledged event is in a
// log that verifies, that lost appends can be retried, and at the end that
// every acknowledged blob is intact and `apie-serve verify` passes.
func TestKillServe(t *testing.T) {
	rounds := killRounds()
	r := newRow(t, rowKillServe,
		fmt.Sprintf("%d rounds: 4 clients appending events and batches, 1 uploading blobs, SIGKILL at a random moment, restart", rounds))
	s := newStore(t, t.TempDir(), storeOptions{})
	led := newLedger()
	retried := 0
	for round := 0; round <= rounds; round++ {
		srv := s.start(t, serverOptions{})
		c := srv.client(alice, alicePW)
		retried += retryLost(t, c, led)
		checkServerLog(t, c, led)
		if round == rounds {
			checkBlobs(t, c, led)
			srv.Shutdown(t)
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for w := 0; w < 5; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w == 0 {
					errs <- uploadUntilDead(ctx, c, led)
				} else {
					errs <- appendUntilDead(ctx, c, led)
				}
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
	out := s.mustVerify(t)
	events, blobs := led.counts()
	if events == 0 || blobs == 0 {
		t.Fatalf("nothing was acknowledged (%d events, %d blobs): the test did not test", events, blobs)
	}
	t.Logf("verify:\n%s", out)
	r.pass(rounds,
		fmt.Sprintf("all %d acknowledged events and %d blobs survived; chain verified after every restart; %d lost appends retried (200/201, never 409); `apie-serve verify` exit 0",
			events, blobs, retried))
}

// appendUntilDead appends events and batches until a request fails (the
// server was killed), recording what was acknowledged and what was lost.
func appendUntilDead(ctx context.Context, c *client, led *ledger) error {
	for ctx.Err() == nil {
		n := 1 + randInt(5)
		body := appendBody(n, n > 1 || randInt(2) == 0, 64)
		res, err := c.do("POST", "/events", body, nil)
		if err != nil {
			led.lose(body)
			return nil
		}
		if res.status != http.StatusCreated {
			return fmt.Errorf("POST /events: status %d, want 201: %s", res.status, res.body)
		}
		if err := led.ackEvents(res.body); err != nil {
			return err
		}
	}
	return nil
}

// uploadUntilDead uploads random blobs until a request fails.
func uploadUntilDead(ctx context.Context, c *client, led *ledger) error {
	for ctx.Err() == nil {
		data, hash := randomBytes(1 + randInt(256<<10))
		res, err := c.do("PUT", "/storage/upload.bin", data, map[string]string{"Content-Type": "application/octet-stream"})
		if err != nil {
			return nil
		}
		if err := ackBlob(led, res, hash, len(data)); err != nil {
			return err
		}
	}
	return nil
}

// ackBlob checks an upload's answer and records the blob.
func ackBlob(led *ledger, res response, hash string, size int) error {
	if res.status != http.StatusCreated && res.status != http.StatusOK {
		return fmt.Errorf("PUT /storage: status %d, want 201: %s", res.status, res.body)
	}
	var got struct {
		Hash string `json:"hash"`
		Size int64  `json:"size"`
	}
	if err := json.Unmarshal(res.body, &got); err != nil {
		return fmt.Errorf("PUT /storage answer: %w: %s", err, res.body)
	}
	if got.Hash != hash || got.Size != int64(size) {
		return fmt.Errorf("PUT /storage: got hash %s size %d, want %s %d", got.Hash, got.Size, hash, size)
	}
	led.ackBlob(hash, got.Size)
	return nil
}

// retryLost resends the appends whose answer was lost: each must be
// answered 200 (it was stored) or 201 (it was not), never 409 or a 5xx.
func retryLost(t testing.TB, c *client, led *ledger) int {
	t.Helper()
	lost := led.takeLost()
	for _, body := range lost {
		res := c.must(t, "POST", "/events", body, nil)
		if res.status != http.StatusOK && res.status != http.StatusCreated {
			t.Fatalf("retry of a lost append: status %d, want 200 or 201: %s", res.status, res.body)
		}
		if err := led.ackEvents(res.body); err != nil {
			t.Fatal(err)
		}
	}
	return len(lost)
}

// checkServerLog reads the whole log through the server and checks that
// it verifies and holds every acknowledged event.
func checkServerLog(t testing.TB, c *client, led *ledger) {
	t.Helper()
	res := c.must(t, "GET", "/events", nil, map[string]string{"Accept": "application/x-ndjson"})
	if res.status != http.StatusOK {
		t.Fatalf("GET /events: status %d: %s", res.status, res.body)
	}
	log, err := checkChain(res.body)
	if err != nil {
		t.Fatalf("GET /events: %v", err)
	}
	if err := led.checkAcked(log); err != nil {
		t.Fatal(err)
	}
}

// checkBlobs fetches every acknowledged blob and checks its bytes.
func checkBlobs(t testing.TB, c *client, led *ledger) {
	t.Helper()
	led.mu.Lock()
	defer led.mu.Unlock()
	for hash, size := range led.blobs {
		res := c.must(t, "GET", "/storage/"+hash, nil, nil)
		if res.status != http.StatusOK {
			t.Fatalf("GET /storage/%s: status %d, want 200: %s", hash, res.status, res.body)
		}
		if got := sha256hex(res.body); got != hash || int64(len(res.body)) != size {
			t.Fatalf("GET /storage/%s: got %d bytes hashing to %s, want %d", hash, len(res.body), got, size)
		}
	}
}
