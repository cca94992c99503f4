package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// damagedAnswer checks a refused append: a JSON 500 whose message and
// seq name the damaged seq, and no server path.
func damagedAnswer(t testing.TB, who string, res response, seq int, dir string) {
	t.Helper()
	var e struct {
		Status       string `json:"status"`
		ErrorMessage string `json:"errorMessage"`
		Seq          int    `json:"seq"`
	}
	if err := json.Unmarshal(res.body, &e); err != nil || res.status != http.StatusInternalServerError || e.Seq != seq ||
		!strings.Contains(e.ErrorMessage, fmt.Sprintf("damaged at seq %d", seq)) || bytes.Contains(res.body, []byte(dir)) {
		t.Fatalf("%s: append on a log with recorded damage at seq %d: status %d %s; want a JSON 500 naming the seq, no paths",
			who, seq, res.status, res.body)
	}
}

// cgiAppend appends one event through apie-cgi.
func cgiAppend(t testing.TB, s *store) response {
	t.Helper()
	res, stderr := s.runCGI(t, cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: appendBody(1, false, 10)}))
	noPanic(t, "apie-cgi", stderr)
	return res
}

// TestDamageShared damages a record in the middle of the log under a
// running apie-serve that has appended since (so it watches its
// directory) and runs no scrub. `apie-serve verify`, a separate process,
// finds it; from then on the running server, apie-cgi processes and a
// restarted server refuse appends (a JSON 500 naming the seq) while
// reads go on. Once the record is restored in place, POST /events/verify
// on the running server passes, and every process appends again.
func TestDamageShared(t *testing.T) {
	r := newRow(t, rowDamageShared, "20 events; a hash digit of seq 10 changed under a running apie-serve (scrub off); `apie-serve verify` in another process; append via that server, apie-cgi and a restarted server; record restored, POST /events/verify, append")
	s := seedStore(t, t.TempDir(), 20)
	logPath := s.path("events", "log")
	orig := readFile(t, logPath)
	srv := s.start(t, serverOptions{args: []string{"-scrub-every", "0"}})
	c := srv.client(alice, alicePW)
	mustAppend(t, c, s.led, appendBody(1, false, 10))
	mustAppend(t, c, s.led, appendBody(1, false, 10))
	grown := readFile(t, logPath)
	damaged := append(changeHexDigit(t, orig, 10, "hash"), grown[len(orig):]...)
	writeFile(t, logPath, damaged) // in place: the server's open file sees it

	mustVerifyFail(t, s.store, 10)
	if _, err := os.Stat(s.path("events", "damaged")); err != nil {
		t.Fatalf("verify found damage but left no marker: %v", err)
	}
	refused := 0
	damagedAnswer(t, "running apie-serve", c.must(t, "POST", "/events", appendBody(1, false, 10), nil), 10, s.dir)
	damagedAnswer(t, "apie-cgi", cgiAppend(t, s.store), 10, s.dir)
	refused += 2
	intact := s.events[len(s.events)-1]
	if res := c.must(t, "GET", "/events/"+intact.Hash.String(), nil, nil); res.status != http.StatusOK {
		t.Fatalf("GET of intact seq %d on a damaged log: status %d, want 200", intact.Seq, res.status)
	}
	srv.Shutdown(t)

	srv = s.start(t, serverOptions{args: []string{"-scrub-every", "0"}})
	c = srv.client(alice, alicePW)
	damagedAnswer(t, "restarted apie-serve", c.must(t, "POST", "/events", appendBody(1, false, 10), nil), 10, s.dir)
	refused++
	if !bytes.Equal(readFile(t, logPath), damaged) {
		t.Fatalf("the damaged log was changed while appends were refused")
	}

	writeFile(t, logPath, grown) // the record restored (from a backup, say)
	if res := c.must(t, "POST", "/events/verify", nil, nil); res.status != http.StatusOK {
		t.Fatalf("POST /events/verify on the restored log: status %d %s, want 200", res.status, res.body)
	}
	if _, err := os.Stat(s.path("events", "damaged")); err == nil {
		t.Fatalf("a verify that passed left the damage marker")
	}
	mustAppend(t, c, s.led, appendBody(1, false, 10))
	if res := cgiAppend(t, s.store); res.status != http.StatusCreated {
		t.Fatalf("apie-cgi append after verify passed: status %d %s, want 201", res.status, res.body)
	}
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(refused, "verify (another process) exit 1 naming seq 10 and writes the marker; the running apie-serve, apie-cgi and a restarted apie-serve refuse appends (JSON 500 naming seq 10, no paths), reads go on, log bytes untouched; record restored: POST /events/verify 200 removes the marker, appends resume everywhere")
}

// TestDamageScrub damages a record in the middle of the log and starts
// apie-serve: nobody runs verify, yet its background scrub finds the
// damage, logs it, and from then on it and apie-cgi refuse appends.
func TestDamageScrub(t *testing.T) {
	r := newRow(t, rowDamageScrub, "20 events; a hash digit of seq 10 changed; apie-serve started (scrub at start, no rate limit); append via the server and apie-cgi; no verify run")
	s := seedStore(t, t.TempDir(), 20)
	logPath := s.path("events", "log")
	writeFile(t, logPath, changeHexDigit(t, readFile(t, logPath), 10, "hash"))
	srv := s.start(t, serverOptions{args: []string{"-scrub-rate", "0"}})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(srv.Output.String(), "event log scrub found a problem") {
		if time.Now().After(deadline) || strings.Contains(srv.Output.String(), "event log scrub passed") {
			t.Fatalf("the scrub did not report the damage at seq 10:\n%s", srv.Output)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out := srv.Output.String(); !strings.Contains(out, "seq 10") || !strings.Contains(out, "found_by=scrub") {
		t.Fatalf("the scrub's log lines do not name seq 10 and the scrub:\n%s", out)
	}
	c := srv.client(alice, alicePW)
	damagedAnswer(t, "apie-serve after its scrub", c.must(t, "POST", "/events", appendBody(1, false, 10), nil), 10, s.dir)
	damagedAnswer(t, "apie-cgi after the scrub", cgiAppend(t, s.store), 10, s.dir)
	srv.Shutdown(t)
	mustVerifyFail(t, s.store, 10)
	r.pass(2, "the scrub at start finds and logs the damage at seq 10 without anyone running verify; apie-serve and apie-cgi then refuse appends (JSON 500 naming seq 10)")
}
