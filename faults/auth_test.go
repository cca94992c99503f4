package faults

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientFrom returns a client whose connections come from ip (any
// 127.0.0.0/8 address reaches a server on 127.0.0.1), so tests can play
// many client addresses. It opens a new connection per request.
func (srv *server) clientFrom(ip, user, password string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &client{
		base: "http://" + srv.Addr, user: user, password: password,
		hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}},
	}
}

// loopback returns the i-th test client address, 127.1.x.y.
func loopback(i int) string { return fmt.Sprintf("127.1.%d.%d", i/250, i%250+1) }

// sameFailure checks that two failed logins got the same answer: status,
// body and every header but Date.
func sameFailure(t testing.TB, what string, a, b response) {
	t.Helper()
	if a.status != http.StatusUnauthorized || b.status != http.StatusUnauthorized {
		t.Fatalf("%s: statuses %d and %d, want 401 both", what, a.status, b.status)
	}
	if string(a.body) != string(b.body) {
		t.Fatalf("%s: bodies differ: %q and %q", what, a.body, b.body)
	}
	ah, bh := a.header.Clone(), b.header.Clone()
	ah.Del("Date")
	bh.Del("Date")
	if fmt.Sprint(ah) != fmt.Sprint(bh) {
		t.Fatalf("%s: headers differ:\n%v\n%v", what, ah, bh)
	}
	if a.header.Get("WWW-Authenticate") != `Basic realm="Apie"` {
		t.Fatalf("%s: WWW-Authenticate %q, want Basic realm=\"Apie\"", what, a.header.Get("WWW-Authenticate"))
	}
}

// TestFailedLoginSame compares the answers to an unknown user and to a
// known user with a wrong password, on several routes, through apie-serve
// and apie-cgi: they must be identical.
func TestFailedLoginSame(t *testing.T) {
	r := newRow(t, rowLoginSame, "unknown user vs alice with a wrong password on GET /info, POST /events, GET /storage/<hash>, through apie-serve and apie-cgi")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	routes := []struct {
		method, path string
		body         []byte
	}{{"GET", "/info", nil}, {"POST", "/events", appendBody(1, false, 10)}, {"GET", "/storage/" + strings.Repeat("ab", 32), nil}}
	n := 0
	for i, rt := range routes {
		unknown := srv.clientFrom(loopback(2*i), "nobody@example.com", alicePW).must(t, rt.method, rt.path, rt.body, nil)
		wrong := srv.clientFrom(loopback(2*i+1), alice, "not the password").must(t, rt.method, rt.path, rt.body, nil)
		sameFailure(t, "apie-serve "+rt.method+" "+rt.path, unknown, wrong)
		cu, _ := s.runCGI(t, cgiRequest{method: rt.method, pathInfo: rt.path, body: rt.body,
			header: map[string]string{"Authorization": basicAuth("nobody@example.com", alicePW)}})
		cw, _ := s.runCGI(t, cgiRequest{method: rt.method, pathInfo: rt.path, body: rt.body,
			header: map[string]string{"Authorization": basicAuth(alice, "not the password")}})
		sameFailure(t, "apie-cgi "+rt.method+" "+rt.path, cu, cw)
		n += 4
	}
	if got := srv.client(alice, alicePW).must(t, "HEAD", "/events", nil, nil).header.Get("X-Apie-Count"); got != "0" {
		t.Fatalf("failed logins appended: count %s", got)
	}
	srv.Shutdown(t)
	r.pass(n, "same status (401), body and headers (WWW-Authenticate: Basic realm=\"Apie\"), Date aside, for both, on every route, server and CGI; nothing written")
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// timeLogin times one GET /info.
func timeLogin(t testing.TB, c *client, want int) time.Duration {
	t.Helper()
	start := time.Now()
	res := c.must(t, "GET", "/info", nil, nil)
	took := time.Since(start)
	if res.status != want {
		t.Fatalf("GET /info as %s: status %d, want %d", c.user, res.status, want)
	}
	return took
}

// TestFailedLoginTiming measures failed logins at bcrypt cost 10: an
// unknown user and a wrong password each take at least about the time of
// a real bcrypt check (a first, uncached right login), and about the same
// as each other, so timing does not tell whether a user exists.
func TestFailedLoginTiming(t *testing.T) {
	const samples = 7
	r := newRow(t, rowLoginTiming, fmt.Sprintf("bcryptCost 10; %d timed logins each: right password (uncached), unknown user, wrong password, no credentials; apie-serve and apie-cgi", samples))
	s := newStore(t, t.TempDir(), storeOptions{BcryptCost: 10})
	for i := 0; i < samples; i++ {
		s.addUser(t, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("password %d", i))
	}
	srv := s.start(t, serverOptions{})
	var ok, unknown, wrong, none []time.Duration
	for i := 0; i < samples; i++ {
		ok = append(ok, timeLogin(t, srv.clientFrom(loopback(100+i), fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("password %d", i)), http.StatusOK))
		unknown = append(unknown, timeLogin(t, srv.clientFrom(loopback(200+i), fmt.Sprintf("ghost%d@example.com", i), "password"), http.StatusUnauthorized))
		wrong = append(wrong, timeLogin(t, srv.clientFrom(loopback(300+i), fmt.Sprintf("user%d@example.com", i), "wrong"), http.StatusUnauthorized))
		none = append(none, timeLogin(t, srv.clientFrom(loopback(400+i), "", ""), http.StatusUnauthorized))
	}
	mOK, mUnknown, mWrong, mNone := median(ok), median(unknown), median(wrong), median(none)
	t.Logf("medians: right %s, unknown %s, wrong %s, none %s", mOK, mUnknown, mWrong, mNone)
	for _, m := range []struct {
		name string
		d    time.Duration
	}{{"unknown user", mUnknown}, {"wrong password", mWrong}} {
		if m.d < mOK/2 {
			t.Errorf("%s: median %s, under half a real bcrypt check (%s): no bcrypt was spent", m.name, m.d, mOK)
		}
		if m.d < 5*mNone {
			t.Errorf("%s: median %s, not clearly above a request without credentials (%s)", m.name, m.d, mNone)
		}
	}
	if ratio := float64(max(mUnknown, mWrong)) / float64(min(mUnknown, mWrong)); ratio > 2 {
		t.Errorf("unknown user (%s) and wrong password (%s) differ by a factor %.2f, want at most 2", mUnknown, mWrong, ratio)
	}
	srv.Shutdown(t)
	// apie-cgi: one process per request, one bcrypt either way.
	var cu, cw []time.Duration
	for i := 0; i < 5; i++ {
		for _, tc := range []struct {
			user string
			dst  *[]time.Duration
		}{{"ghost@example.com", &cu}, {"user0@example.com", &cw}} {
			start := time.Now()
			res, _ := s.runCGI(t, cgiRequest{method: "GET", pathInfo: "/info", header: map[string]string{"Authorization": basicAuth(tc.user, "wrong")}})
			*tc.dst = append(*tc.dst, time.Since(start))
			if res.status != http.StatusUnauthorized {
				t.Fatalf("CGI login as %s with a wrong password: status %d", tc.user, res.status)
			}
		}
	}
	mcu, mcw := median(cu), median(cw)
	if ratio := float64(max(mcu, mcw)) / float64(min(mcu, mcw)); ratio > 2 || min(mcu, mcw) < mOK/2 {
		t.Errorf("CGI: unknown user %s, wrong password %s (bcrypt %s): want both at least half a bcrypt and within a factor 2", mcu, mcw, mOK)
	}
	if t.Failed() {
		return
	}
	r.pass(4*samples+10, fmt.Sprintf("medians: right login (one bcrypt) %s, unknown user %s, wrong password %s, no credentials %s; CGI unknown %s, wrong %s; both failures ≥ ½ bcrypt and within a factor 2 of each other",
		mOK.Round(time.Millisecond), mUnknown.Round(time.Millisecond), mWrong.Round(time.Millisecond), mNone.Round(100*time.Microsecond),
		mcu.Round(time.Millisecond), mcw.Round(time.Millisecond)))
}

// TestThrottle fails logins from one address until apie-serve answers
// 429: then even the right password from that address is refused, while
// other addresses are served; the answer is a JSON error with Retry-After.
func TestThrottle(t *testing.T) {
	r := newRow(t, rowThrottle, "wrong passwords from one address until 429, then the right password from it and from another address")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	bad := srv.clientFrom("127.0.0.9", alice, "guess")
	n := 0
	var res response
	for n = 1; n <= 20; n++ {
		res = bad.must(t, "GET", "/info", nil, nil)
		if res.status != http.StatusUnauthorized {
			break
		}
	}
	if res.status != http.StatusTooManyRequests {
		t.Fatalf("after %d failed logins from one address: status %d, want 429", n, res.status)
	}
	if n < 3 {
		t.Fatalf("429 after only %d failed logins", n-1)
	}
	if !isJSONError(res.body) || res.header.Get("Retry-After") == "" {
		t.Fatalf("429: body %q, Retry-After %q; want a JSON error and Retry-After", res.body, res.header.Get("Retry-After"))
	}
	if got := srv.clientFrom("127.0.0.9", alice, alicePW).must(t, "GET", "/info", nil, nil); got.status != http.StatusTooManyRequests {
		t.Fatalf("the right password from a throttled address: status %d, want 429", got.status)
	}
	if got := srv.clientFrom("127.0.0.10", alice, alicePW).must(t, "GET", "/info", nil, nil); got.status != http.StatusOK {
		t.Fatalf("the right password from another address: status %d, want 200", got.status)
	}
	srv.Shutdown(t)
	r.pass(n+1, fmt.Sprintf("401 for the first %d, then 429 with a JSON error and Retry-After; the right password from that address also 429; another address 200", n-1))
}

// TestThrottleMemory fails logins from many addresses: the throttle keeps
// a bounded table (an address's failures are forgotten once enough other
// addresses failed since), and the server's memory stays small.
func TestThrottleMemory(t *testing.T) {
	const addrs = 5000
	r := newRow(t, rowThrottleMem, fmt.Sprintf("one failed login from each of %d addresses (127.1.x.y), after one address came one failure short of 429", addrs))
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	first := srv.clientFrom("127.0.0.20", alice, "guess")
	short := 0
	for ; short < 20; short++ { // fail until one more would be refused
		res := first.must(t, "GET", "/info", nil, nil)
		if res.status == http.StatusTooManyRequests {
			break
		}
	}
	if short == 0 || short == 20 {
		t.Fatalf("could not find the throttle limit (%d)", short)
	}
	// Start over on a fresh address with limit-1 failures.
	probe := srv.clientFrom("127.0.0.21", alice, "guess")
	for i := 0; i < short-1; i++ {
		if res := probe.must(t, "GET", "/info", nil, nil); res.status != http.StatusUnauthorized {
			t.Fatalf("failure %d from the probe address: status %d", i+1, res.status)
		}
	}
	rss0 := rssKiB(t, srv)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < addrs; i += 8 {
				res, err := srv.clientFrom(loopback(i), alice, "guess").do("GET", "/info", nil, nil)
				if err == nil && res.status != http.StatusUnauthorized {
					err = fmt.Errorf("address %s: status %d, want 401", loopback(i), res.status)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rss1 := rssKiB(t, srv)
	// Were the probe's failures still counted, the first of these would
	// reach the limit and the second be refused.
	for i := 0; i < 2; i++ {
		if res := probe.must(t, "GET", "/info", nil, nil); res.status != http.StatusUnauthorized {
			t.Fatalf("after %d other addresses failed, failure %d more from the probe address got %d, want 401: the throttle table is not bounded", addrs, i+1, res.status)
		}
	}
	if grew := rss1 - rss0; grew > 64<<10 {
		t.Fatalf("resident memory grew by %d KiB over %d failing addresses", grew, addrs)
	}
	srv.Shutdown(t)
	r.pass(addrs, fmt.Sprintf("every one 401; the oldest address's failures were forgotten (it was not throttled on its next failure): the table is bounded; resident memory %d → %d KiB", rss0, rss1))
}

// rssKiB returns a server's resident memory from /proc, in KiB.
func rssKiB(t testing.TB, srv *server) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.Cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read the server's memory use: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kib)
			return kib
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", srv.Cmd.Process.Pid)
	return 0
}
