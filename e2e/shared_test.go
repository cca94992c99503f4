package e2e

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// acks collects what the servers acknowledged, from parallel subtests.
type acks struct {
	mu      sync.Mutex
	byID    map[string]string // eventId -> hash
	ifMatch map[string]string // hash of an If-Match append -> the If-Match it was sent with
	perHost map[string]int    // events acknowledged through each transport
	stale   int               // 412 answers to If-Match appends

	cgiLeft  int           // plain CGI clients still appending
	cgiDone  chan struct{} // closed when they are all done
	doneOnce sync.Once
}

// finishedCGI notes that a CGI client is done.
func (a *acks) finishedCGI() {
	a.mu.Lock()
	a.cgiLeft--
	left := a.cgiLeft
	a.mu.Unlock()
	if left <= 0 {
		a.doneOnce.Do(func() { close(a.cgiDone) })
	}
}

// more reports whether a client that has made i appends of its n should
// go on: CGI clients stop at n; apie-serve's go on until the CGI clients
// are done, so that they append all the while, paced to about the speed
// of a CGI request (unpaced, a server client wins every race for the
// head and starves the CGI clients' If-Match appends).
func (a *acks) more(tg *target, i, n int) bool {
	if tg.cgi {
		return i < n
	}
	if i > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if i < n {
		return true
	}
	select {
	case <-a.cgiDone:
		return false
	default:
		return true
	}
}

func (a *acks) add(host string, evs []stored) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range evs {
		a.byID[e.EventID] = e.Hash
	}
	a.perHost[host] += len(evs)
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// TestSharedDataDirectory has CGI requests under two Apaches (prefork +
// mod_cgi and event + mod_cgid) and an apie-serve append to one data
// directory at once, some with If-Match: every acknowledged event must be
// in the log exactly once, the log must be one valid chain, and verify
// must pass online and offline.
func TestSharedDataDirectory(t *testing.T) {
	requireApache(t)
	b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
	s := installSite(t, b, o, docRoot, "shared", testConfig, true)
	cfg := filepath.Join(s.dir, "apie.json")
	srv := startServe(t, b, o, cfg)
	var hosts []*target
	for _, m := range apacheModes {
		a := startApache(t, m, o, docRoot)
		hosts = append(hosts, newTarget(m.name, a.URL(), s.urlPath, testUser, testPassword, true))
	}
	serve := newTarget("apie-serve", srv.origin, "", testUser, testPassword, false)
	hosts = append(hosts, serve)

	const perClient = 25
	got := &acks{byID: map[string]string{}, ifMatch: map[string]string{}, perHost: map[string]int{},
		cgiLeft: 4, cgiDone: make(chan struct{})} // the plain clients through Apache
	// The clients are goroutines, not parallel subtests: -parallel (2 on
	// a small machine) would run them a few at a time.
	var wg sync.WaitGroup
	var clientErrs []*goTB
	client := func(fn func(t testing.TB)) {
		g := &goTB{TB: t}
		clientErrs = append(clientErrs, g)
		wg.Go(func() { fn(g) })
	}
	for i, tg := range []*target{hosts[0], hosts[0], hosts[1], hosts[1], serve, serve} {
		client(func(t testing.TB) { appendMany(t, tg, i, perClient, got) })
	}
	for _, tg := range hosts {
		client(func(t testing.TB) { appendIfMatch(t, tg, 8, got) })
	}
	wg.Wait()
	for _, g := range clientErrs {
		g.report(t)
	}
	t.Logf("acknowledged per transport: %v; %d stale If-Match answers (412) retried", got.perHost, got.stale)

	r := serve.do(t, http.MethodGet, "/events", nil).want(t, http.StatusOK)
	log := eventArray(t, r.body, testUser)
	checkChain(t, log, 1, genesis)
	seen := map[string]bool{}
	for _, e := range log {
		if seen[e.EventID] {
			t.Errorf("eventId %s is in the log twice", e.EventID)
		}
		seen[e.EventID] = true
		if want, ok := got.ifMatch[e.Hash]; ok && e.PrevHash != want {
			t.Errorf("seq %d was appended with If-Match %s but follows %s", e.Seq, want, e.PrevHash)
		}
	}
	for id, h := range got.byID {
		if !seen[id] {
			t.Errorf("acknowledged event %s (%s) is not in the log", id, h)
		}
	}
	if len(log) != len(got.byID) {
		t.Errorf("the log holds %d events, %d were acknowledged", len(log), len(got.byID))
	}
	for _, tg := range hosts {
		var v struct {
			Status string `json:"status"`
			Events int    `json:"events"`
		}
		tg.do(t, http.MethodPost, "/events/verify", nil).want(t, http.StatusOK).json(t, &v)
		if v.Status != "ok" || v.Events != len(log) {
			t.Errorf("%s: verify: got %+v, want ok with %d events", tg.name, v, len(log))
		}
	}
	srv.Shutdown(t)
	out := mustRun(t, o, s.dir, "", nil, b.Serve, "-config", cfg, "verify")
	t.Logf("apie-serve verify: %s", strings.TrimSpace(out))
	out = mustRun(t, o, s.dir, "", nil, "./apie-cgi", "verify")
	t.Logf("apie-cgi verify: %s", strings.TrimSpace(out))
}

// appendMany appends n times through tg: single events, and every fifth
// time a batch of three.
func appendMany(t testing.TB, tg *target, client, n int, got *acks) {
	if tg.cgi {
		defer got.finishedCGI()
	}
	for i := 0; got.more(tg, i, n); i++ {
		batch := i%5 == 4
		body := eventWithID(newUUID(), fmt.Sprintf("c%d.single", client), fmt.Sprintf(`{"client":%d,"i":%d}`, client, i))
		if batch {
			var parts []string
			for j := range 3 {
				parts = append(parts, eventWithID(newUUID(), fmt.Sprintf("c%d.batch", client), fmt.Sprintf(`{"client":%d,"i":%d,"j":%d}`, client, i, j)))
			}
			body = "[" + strings.Join(parts, ",") + "]"
		}
		r := tg.do(t, http.MethodPost, "/events", []byte(body))
		if r.status != http.StatusCreated {
			t.Errorf("append %d: got status %d, want 201; body %q", i, r.status, truncate(r.body))
			continue
		}
		if batch {
			got.add(tg.name, eventArray(t, r.body, testUser))
		} else {
			got.add(tg.name, []stored{checkEvent(t, r.body, testUser)})
		}
	}
}

// appendIfMatch makes n conditional appends through tg, each on the head
// it last saw, retrying on 412 with the head the answer names.
func appendIfMatch(t testing.TB, tg *target, n int, got *acks) {
	head := genesis
	if r := tg.do(t, http.MethodHead, "/events", nil); r.header.Get("X-Apie-Hash") != "" {
		head = r.header.Get("X-Apie-Hash")
	}
	// While the plain clients run, a conditional append mostly loses the
	// race for the head (412); once they are done, the conditional
	// clients only race each other, so each gets its n through.
	for done, tries := 0, 0; done < n; tries++ {
		if tries > 5000 {
			t.Fatalf("only %d conditional appends in 5000 tries", done)
		}
		r := tg.do(t, http.MethodPost, "/events", []byte(eventWithID(newUUID(), "ifmatch", `{"on":"`+head+`"}`)),
			header("If-Match", `"`+head+`"`))
		switch r.status {
		case http.StatusPreconditionFailed:
			head = r.header.Get("X-Apie-Hash")
			got.mu.Lock()
			got.stale++
			got.mu.Unlock()
		case http.StatusCreated:
			e := checkEvent(t, r.body, testUser)
			got.add(tg.name, []stored{e})
			got.mu.Lock()
			got.ifMatch[e.Hash] = head
			got.mu.Unlock()
			head = e.Hash
			done++
		default:
			t.Fatalf("conditional append: got status %d; body %q", r.status, truncate(r.body))
		}
	}
}

// goTB is a testing.TB for a goroutine of a test: it records failures
// (Fatalf ends only the goroutine) for report to pass on from the test's
// own goroutine.
type goTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (g *goTB) Errorf(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs = append(g.errs, fmt.Sprintf(format, args...))
}

func (g *goTB) Error(args ...any) { g.Errorf("%s", fmt.Sprint(args...)) }

func (g *goTB) Fatalf(format string, args ...any) {
	g.Errorf(format, args...)
	runtime.Goexit()
}

func (g *goTB) Fatal(args ...any) {
	g.Error(args...)
	runtime.Goexit()
}

func (g *goTB) FailNow() { runtime.Goexit() }

// report fails t with what the goroutine recorded.
func (g *goTB) report(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.errs {
		t.Error(e)
	}
}
