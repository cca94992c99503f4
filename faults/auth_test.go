package faults

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
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

// medianRatio returns the median of a[i]/b[i]: two series timed in turn,
// compared round by round, so a load that comes and goes slows both alike.
func medianRatio(a, b []time.Duration) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = float64(a[i]) / float64(b[i])
	}
	slices.Sort(r)
	return r[len(r)/2]
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

// addUserHash appends a user with a ready-made hash to the passwd file,
// as an administrator editing it by hand (or with htpasswd) does.
func (s *store) addUserHash(t testing.TB, email string, hash []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.dir, "passwd"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s:%s\n", email, hash); err != nil {
		t.Fatal(err)
	}
}

// TestFailedLoginTiming times failed logins against a passwd file whose
// hashes cost more than the configured bcryptCost (cost 10 users, by hand,
// beside alice at the configured 5): an unknown user and a wrong password
// each take about the time of a real bcrypt check (a first, uncached right
// login), clearly more than a request without credentials, so timing does
// not tell whether a user exists. The kinds of login are timed in turn,
// round after round, starting with a different one each round, and
// compared by the median of each round's ratios, so a machine whose load
// comes and goes slows them alike.
func TestFailedLoginTiming(t *testing.T) {
	const samples = 7
	r := newRow(t, rowLoginTiming, fmt.Sprintf("bcryptCost 5, users' hashes at cost 10 (one at 5); %d rounds, each timing in turn a right password (uncached), an unknown user, a wrong password, no credentials; apie-serve and apie-cgi", samples))
	s := newStore(t, t.TempDir(), storeOptions{BcryptCost: 5})
	hash, err := bcrypt.GenerateFromPassword([]byte("password"), 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < samples; i++ {
		s.addUserHash(t, fmt.Sprintf("user%d@example.com", i), hash)
	}
	srv := s.start(t, serverOptions{})
	var ok, unknown, wrong, none []time.Duration
	for i := 0; i < samples; i++ {
		user := fmt.Sprintf("user%d@example.com", i)
		logins := []func(){
			func() {
				ok = append(ok, timeLogin(t, srv.clientFrom(loopback(100+i), user, "password"), http.StatusOK))
			},
			func() {
				unknown = append(unknown, timeLogin(t, srv.clientFrom(loopback(200+i), "ghost"+user, "password"), http.StatusUnauthorized))
			},
			func() {
				wrong = append(wrong, timeLogin(t, srv.clientFrom(loopback(300+i), user, "wrong"), http.StatusUnauthorized))
			},
			func() {
				none = append(none, timeLogin(t, srv.clientFrom(loopback(400+i), "", ""), http.StatusUnauthorized))
			},
		}
		for j := range logins {
			logins[(i+j)%len(logins)]()
		}
	}
	uOK, wOK, uW := medianRatio(unknown, ok), medianRatio(wrong, ok), medianRatio(unknown, wrong)
	uNone, wNone := medianRatio(unknown, none), medianRatio(wrong, none)
	t.Logf("median ratios: unknown/right %.2f, wrong/right %.2f, unknown/wrong %.2f, unknown/none %.1f, wrong/none %.1f", uOK, wOK, uW, uNone, wNone)
	for _, m := range []struct {
		name        string
		perOK, perN float64
	}{{"unknown user", uOK, uNone}, {"wrong password", wOK, wNone}} {
		if m.perOK < 0.5 || m.perOK > 2 {
			t.Errorf("%s: %.2f times a real bcrypt check, want about 1 (½ to 2)", m.name, m.perOK)
		}
		if m.perN < 5 {
			t.Errorf("%s: %.1f times a request without credentials, want clearly more (at least 5)", m.name, m.perN)
		}
	}
	if uW < 0.5 || uW > 2 {
		t.Errorf("unknown user takes %.2f times a wrong password, want within a factor 2", uW)
	}
	srv.Shutdown(t)
	// apie-cgi: one process per request, one bcrypt each, no cache.
	const cgiRounds = 5
	var cOK, cu, cw []time.Duration
	for i := 0; i < cgiRounds; i++ {
		logins := []struct {
			user, password string
			dst            *[]time.Duration
			want           int
		}{
			{"user0@example.com", "password", &cOK, http.StatusOK},
			{"ghost@example.com", "password", &cu, http.StatusUnauthorized},
			{"user0@example.com", "wrong", &cw, http.StatusUnauthorized},
		}
		for j := range logins {
			l := logins[(i+j)%len(logins)]
			start := time.Now()
			res, _ := s.runCGI(t, cgiRequest{method: "GET", pathInfo: "/info", header: map[string]string{"Authorization": basicAuth(l.user, l.password)}})
			*l.dst = append(*l.dst, time.Since(start))
			if res.status != l.want {
				t.Fatalf("CGI login as %s: status %d, want %d", l.user, res.status, l.want)
			}
		}
	}
	cuOK, cwOK := medianRatio(cu, cOK), medianRatio(cw, cOK)
	if cuOK < 0.5 || cuOK > 2 || cwOK < 0.5 || cwOK > 2 {
		t.Errorf("CGI: unknown user %.2f, wrong password %.2f times a right login (one bcrypt); want both ½ to 2", cuOK, cwOK)
	}
	if t.Failed() {
		return
	}
	r.pass(4*samples+3*cgiRounds, fmt.Sprintf("median ratios to a right login (one bcrypt at cost 10, %s): unknown user %.2f, wrong password %.2f; to no credentials: %.0f and %.0f; CGI: unknown %.2f, wrong %.2f; want ½ to 2, and at least 5",
		median(ok).Round(time.Millisecond), uOK, wOK, uNone, wNone, cuOK, cwOK))
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestThrottle fails logins as alice from one address until apie-serve
// answers 429: then alice's right password from that address is refused
// too, while bob from that address, alice's bearer token from it and
// alice from another address are served; the answer is a JSON error with
// Retry-After. Then another address fails as many users, each fewer times
// than one user may, until that whole address is refused.
func TestThrottle(t *testing.T) {
	r := newRow(t, rowThrottle, "wrong passwords as alice from one address until 429, then from it alice's right password, bob's, alice's bearer token, and alice from another address; then wrong passwords as ever new users from a second address until 429")
	s := newStore(t, t.TempDir(), storeOptions{})
	s.addUser(t, "bob@example.com", "bob's password")
	srv := s.start(t, serverOptions{})
	token := tokenOf(t, srv.clientFrom("127.0.0.10", alice, alicePW))
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
		t.Fatalf("alice's right password from the throttled address: status %d, want 429", got.status)
	}
	bob := srv.clientFrom("127.0.0.9", "bob@example.com", "bob's password")
	if got := bob.must(t, "GET", "/info", nil, nil); got.status != http.StatusOK {
		t.Fatalf("bob from the address alice is throttled at: status %d, want 200", got.status)
	}
	if got := bob.must(t, "POST", "/user/update", []byte(`{"info":"still here"}`), nil); got.status != http.StatusOK {
		t.Fatalf("bob's POST /user/update from that address: status %d, want 200", got.status)
	}
	bearer := map[string]string{"Authorization": "Bearer " + token}
	if got := srv.clientFrom("127.0.0.9", "", "").must(t, "GET", "/info", nil, bearer); got.status != http.StatusOK {
		t.Fatalf("alice's bearer token from the throttled address: status %d, want 200", got.status)
	}
	if got := srv.clientFrom("127.0.0.10", alice, alicePW).must(t, "GET", "/info", nil, nil); got.status != http.StatusOK {
		t.Fatalf("alice's right password from another address: status %d, want 200", got.status)
	}
	m := 0
	for m = 1; m <= 200; m++ {
		res = srv.clientFrom("127.0.0.11", fmt.Sprintf("guess%d@example.com", m), "guess").must(t, "GET", "/info", nil, nil)
		if res.status != http.StatusUnauthorized {
			break
		}
	}
	if res.status != http.StatusTooManyRequests || m <= n {
		t.Fatalf("failed logins as %d different users from one address: status %d; want 429, later than one user's %d", m, res.status, n)
	}
	srv.Shutdown(t)
	r.pass(n+m+5, fmt.Sprintf("401 for alice's first %d, then 429 with a JSON error and Retry-After, alice's right password from that address too; from it bob 200 (and /user/update 200), alice's bearer token 200; alice from another address 200; as ever new users from one address: 401 for the first %d, then 429", n-1, m-1))
}

// tokenOf asks for a bearer token as c.
func tokenOf(t testing.TB, c *client) string {
	t.Helper()
	res := c.must(t, "POST", "/auth/token", nil, nil)
	var tok struct {
		Token string `json:"token"`
	}
	if res.status != http.StatusOK || json.Unmarshal(res.body, &tok) != nil || tok.Token == "" {
		t.Fatalf("POST /auth/token: status %d, body %q", res.status, res.body)
	}
	return tok.Token
}

// TestThrottleMemory fails logins from many addresses: the throttle keeps
// a bounded table (an address's failures are forgotten once enough other
// addresses failed since), and the server's memory stays small. The flood
// sends undecodable Basic credentials: they count as failures like a
// wrong password (each address adds its own entries to the table) but
// cost the server no bcrypt, so the test spends its time on the table,
// not on hashing. The table holds 4,096 entries, two per failing address
// and user, so 2,100 addresses are more than it holds.
func TestThrottleMemory(t *testing.T) {
	const addrs = 2100
	r := newRow(t, rowThrottleMem, fmt.Sprintf("one failed login (undecodable Basic credentials) from each of %d addresses (127.1.x.y), after one address came one wrong password short of 429", addrs))
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
	garbage := map[string]string{"Authorization": "Basic !!not base64!!"}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < addrs; i += 4 {
				res, err := srv.clientFrom(loopback(i), "", "").do("GET", "/info", nil, garbage)
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
