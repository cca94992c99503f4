package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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
			srv.stop(t)
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
		alive := srv.kill()
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if !alive {
			t.Fatalf("round %d: apie-serve died before it was killed: %v\n%s", round, srv.err, srv.stderr)
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
	var stdout, stderr syncBuffer
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

// TestStaleUploadTemp kills apie-serve during an upload and checks the
// temp file it leaves: kept while fresh (an upload may be in progress),
// removed at the next start once older than the threshold (an hour),
// with a log line; temp files of other names are left alone.
func TestStaleUploadTemp(t *testing.T) {
	r := newRow(t, rowStaleTemp, "SIGKILL during an upload; temp files planted fresh and 2 h old (os.Chtimes); restart")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	tmp := s.path("blobs", "tmp")
	// An upload whose body never ends: the server spools what came so far.
	pr, pw := io.Pipe()
	req, err := http.NewRequest("PUT", "http://"+srv.addr+"/storage/never-finished.bin", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(alice, alicePW)
	go http.DefaultClient.Do(req)
	pw.Write(make([]byte, 100<<10))
	waitFor(t, 10*time.Second, "a temp file for the upload in tmp/", func() bool { return len(listParts(t, tmp)) == 1 })
	srv.kill()
	pw.Close()
	left := listParts(t, tmp)
	if len(left) != 1 {
		t.Fatalf("after kill -9 during an upload: temp files %q, want one", left)
	}
	// Planted: a stale temp file, a fresh one, and a stale file that is
	// not an upload temp file.
	for _, name := range []string{"planted-stale.part", "planted-fresh.part", "planted-other"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("x"), 0o440); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"planted-stale.part", "planted-other"} {
		if err := os.Chtimes(filepath.Join(tmp, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	srv = s.start(t, serverOptions{})
	srv.stop(t)
	got := listParts(t, tmp)
	want := []string{"planted-fresh.part", filepath.Base(left[0])}
	if !sameSet(got, want) {
		t.Fatalf("after a restart: temp files %q, want the fresh ones %q kept", got, want)
	}
	if _, err := os.Stat(filepath.Join(tmp, "planted-other")); err != nil {
		t.Fatalf("a file that is not an upload temp file was touched: %v", err)
	}
	ageParts(t, tmp, 2*time.Hour)
	srv = s.start(t, serverOptions{})
	logs := srv.stderr.String()
	srv.stop(t)
	if got := listParts(t, tmp); len(got) > 0 {
		t.Fatalf("after aging them two hours and restarting: temp files %q, want none", got)
	}
	if !strings.Contains(logs, "abandoned upload") {
		t.Errorf("no log line for the removed temp files:\n%s", logs)
	}
	s.mustVerify(t)
	r.pass(3,
		"fresh tmp/*.part kept (an upload may be running); those older than 1 h removed at open, each logged; other files untouched; verify exit 0")
}

// listParts returns the names of the upload temp files in dir.
func listParts(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.part"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// ageParts sets the mtime of every upload temp file in dir to age ago and
// returns how many there were.
func ageParts(t testing.TB, dir string, age time.Duration) int {
	t.Helper()
	old := time.Now().Add(-age)
	parts := listParts(t, dir)
	for _, name := range parts {
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return len(parts)
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
