package faults

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A trickler is a connection that sends a request one byte a second.
type trickler struct {
	conn   net.Conn
	closed chan struct{} // closed when the server cut the connection
	at     time.Duration // when, after start
	reply  string        // what the server sent before closing, if anything
}

// trickle opens a connection to addr, sends head at once, then rest one
// byte a second, until the server closes the connection or the test
// ends.
func trickle(t testing.TB, addr, head, rest string, start time.Time) *trickler {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tr := &trickler{conn: conn, closed: make(chan struct{})}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go func() {
		b, _ := io.ReadAll(conn) // until the server closes it
		tr.reply, tr.at = string(b), time.Since(start)
		close(tr.closed)
	}()
	go func() {
		for i := 0; i < len(rest); i++ {
			select {
			case <-tr.closed:
				return
			case <-time.After(time.Second):
			}
			if _, err := conn.Write([]byte{rest[i]}); err != nil {
				return
			}
		}
	}()
	return tr
}

// timedRequest makes a request and fails the test unless it succeeds
// within limit; it returns how long it took.
func timedRequest(t testing.TB, c *client, method, path string, body []byte, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	res := c.must(t, method, path, body, nil)
	took := time.Since(start)
	if res.status != want {
		t.Fatalf("%s %s among slow clients: status %d, want %d: %s", method, path, res.status, want, res.body)
	}
	if took > limit {
		t.Fatalf("%s %s among slow clients took %s, want under %s", method, path, took, limit)
	}
	return took
}

// TestSlowloris holds 100 connections open that send their headers one
// byte a second: a normal client is still served promptly, and each
// trickler is cut off once the header timeout (2 s here) has passed.
func TestSlowloris(t *testing.T) {
	const conns, timeout = 100, 2 * time.Second
	r := newRow(t, rowSlowHeaders, fmt.Sprintf("%d connections sending headers 1 byte/s; apie-serve -read-header-timeout %s; a normal client meanwhile", conns, timeout))
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{args: []string{"-read-header-timeout", timeout.String()}})
	start := time.Now()
	trs := make([]*trickler, conns)
	for i := range trs {
		trs[i] = trickle(t, srv.Addr, "GET /info HTTP/1.1\r\n", "Host: x\r\nX-Slow: "+strings.Repeat("a", 60)+"\r\n\r\n", start)
	}
	time.Sleep(500 * time.Millisecond)
	c := srv.client(alice, alicePW)
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		slowest = max(slowest, timedRequest(t, c, "GET", "/info", nil, http.StatusOK, time.Second))
		slowest = max(slowest, timedRequest(t, c, "POST", "/events", appendBody(1, false, 10), http.StatusCreated, time.Second))
	}
	var latest time.Duration
	for i, tr := range trs {
		select {
		case <-tr.closed:
		case <-time.After(timeout + 5*time.Second - time.Since(start)):
			t.Fatalf("trickler %d still connected %s after it began (header timeout %s)", i, time.Since(start), timeout)
		}
		if tr.at < timeout-100*time.Millisecond {
			t.Fatalf("trickler %d cut after %s, before the header timeout %s", i, tr.at, timeout)
		}
		latest = max(latest, tr.at)
	}
	// And the server is still well.
	timedRequest(t, c, "GET", "/info", nil, http.StatusOK, time.Second)
	srv.Shutdown(t)
	r.pass(conns, fmt.Sprintf("normal GET /info and POST /events answered in at most %s each while all were open; every trickler cut off by %s (timeout %s); server still serving",
		slowest.Round(time.Millisecond), latest.Round(100*time.Millisecond), timeout))
}

// TestSlowBody sends whole headers and then trickles bodies of appends
// and uploads: a normal client is served meanwhile, each trickler is cut
// off at the read timeout (3 s here), and nothing of their bodies is
// stored.
func TestSlowBody(t *testing.T) {
	const conns, timeout = 10, 3 * time.Second
	r := newRow(t, rowSlowBody, fmt.Sprintf("%d connections sending POST /events and PUT /storage bodies 1 byte/s; apie-serve -read-timeout %s", conns, timeout))
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{args: []string{"-read-timeout", timeout.String()}})
	start := time.Now()
	auth := "Authorization: " + basicAuth(alice, alicePW) + "\r\n"
	body := string(appendBody(1, false, 10))
	var trs []*trickler
	for i := 0; i < conns; i++ {
		var head string
		if i%2 == 0 {
			head = fmt.Sprintf("POST /events HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n", auth, len(body))
		} else {
			head = fmt.Sprintf("PUT /storage/slow.bin HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n", auth, len(body))
		}
		trs = append(trs, trickle(t, srv.Addr, head, body, start))
	}
	time.Sleep(500 * time.Millisecond)
	c := srv.client(alice, alicePW)
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		slowest = max(slowest, timedRequest(t, c, "POST", "/events", appendBody(1, false, 10), http.StatusCreated, time.Second))
	}
	var latest time.Duration
	for i, tr := range trs {
		select {
		case <-tr.closed:
		case <-time.After(timeout + 5*time.Second - time.Since(start)):
			t.Fatalf("body trickler %d still connected %s after it began (read timeout %s)", i, time.Since(start), timeout)
		}
		if strings.Contains(tr.reply, " 201 ") || strings.Contains(tr.reply, " 200 ") {
			t.Fatalf("a trickled body was accepted: %q", tr.reply)
		}
		latest = max(latest, tr.at)
	}
	if got := c.must(t, "HEAD", "/events", nil, nil).header.Get("X-Apie-Count"); got != "5" {
		t.Fatalf("after trickled appends: count %s, want 5 (the normal client's)", got)
	}
	mustNoParts(t, s)
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(conns, fmt.Sprintf("normal appends answered in at most %s meanwhile; every trickler cut off by %s (timeout %s), none stored: count unchanged, no temp file; verify exit 0",
		slowest.Round(time.Millisecond), latest.Round(100*time.Millisecond), timeout))
}
