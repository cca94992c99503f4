package faults

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// readFile reads a file or fails the test.
func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeFile writes a file (keeping its mode) or fails the test.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

// recordSpan returns the byte range of record seq (1-based, with its
// newline) in a log.
func recordSpan(t testing.TB, log []byte, seq int) (start, end int) {
	t.Helper()
	for i := 1; ; i++ {
		nl := bytes.IndexByte(log[start:], '\n')
		if nl < 0 {
			t.Fatalf("the log has fewer than %d records", seq)
		}
		end = start + nl + 1
		if i == seq {
			return start, end
		}
		start = end
	}
}

// changeHexDigit changes the first hex digit of the value of member in
// record seq, which stays well-formed JSON on one line.
func changeHexDigit(t testing.TB, log []byte, seq int, member string) []byte {
	t.Helper()
	start, end := recordSpan(t, log, seq)
	key := []byte(`"` + member + `":"`)
	i := bytes.Index(log[start:end], key)
	if i < 0 {
		t.Fatalf("record %d has no %s", seq, member)
	}
	at := start + i + len(key)
	out := bytes.Clone(log)
	if out[at] == '0' {
		out[at] = '1'
	} else {
		out[at] = '0'
	}
	return out
}

// seqAt returns the seq of the record holding byte offset off.
func seqAt(log []byte, off int) int { return bytes.Count(log[:off], []byte("\n")) + 1 }

// TestLogDamageMiddle damages a record in the middle of the log, once as
// a changed hash digit and once as a bit flipped at the file's middle
// byte: verify names the seq and exits 1, the server still serves the
// intact records, POST /events/verify answers 500 with the seq, appends
// are refused from then on, and nothing is repaired or cut.
func TestLogDamageMiddle(t *testing.T) {
	r := newRow(t, rowLogMiddle, "20 events; a hash digit of seq 10 changed, or one bit flipped at the log's middle byte; verify, restart, POST /events/verify, append")
	damages := []struct {
		name   string
		damage func(log []byte) ([]byte, int)
	}{
		{"hash digit", func(log []byte) ([]byte, int) { return changeHexDigit(t, log, 10, "hash"), 10 }},
		{"middle bit", func(log []byte) ([]byte, int) {
			out := bytes.Clone(log)
			out[len(out)/2] ^= 0x01
			return out, seqAt(log, len(log)/2)
		}},
	}
	for _, d := range damages {
		t.Run(strings.ReplaceAll(d.name, " ", "-"), func(t *testing.T) {
			s := seedStore(t, t.TempDir(), 20)
			damaged, seq := d.damage(readFile(t, s.path("events", "log")))
			writeFile(t, s.path("events", "log"), damaged)
			mustVerifyFail(t, s.store, seq)

			srv := s.start(t, serverOptions{})
			c := srv.client(alice, alicePW)
			intact := s.events[len(s.events)-1]
			if res := c.must(t, "GET", "/events/"+intact.Hash.String(), nil, nil); res.status != http.StatusOK {
				t.Fatalf("GET of intact seq %d: status %d, want 200", intact.Seq, res.status)
			}
			res := c.must(t, "POST", "/events/verify", nil, nil)
			var v struct {
				Status string `json:"status"`
				Seq    int    `json:"seq"`
			}
			if err := json.Unmarshal(res.body, &v); err != nil || res.status != http.StatusInternalServerError || v.Seq != seq {
				t.Fatalf("POST /events/verify: status %d %s, want 500 naming seq %d", res.status, res.body, seq)
			}
			res = c.must(t, "POST", "/events", appendBody(1, false, 10), nil)
			if res.status < 500 || !isJSONError(res.body) {
				t.Fatalf("append after verify found damage: status %d %s, want a JSON 5xx", res.status, res.body)
			}
			srv.Shutdown(t)
			if now := readFile(t, s.path("events", "log")); !bytes.Equal(now, damaged) {
				t.Fatalf("the damaged log was changed (%d bytes, were %d): damage before the tail must not be repaired", len(now), len(damaged))
			}
			mustVerifyFail(t, s.store, seq)
		})
	}
	r.pass(len(damages), "`apie-serve verify` exit 1 naming the damaged seq; server starts and serves intact events; POST /events/verify 500 with that seq; appends then refused (JSON 5xx); log bytes untouched")
}

// mustVerifyFail checks that `apie-serve verify` exits 1 naming seq.
func mustVerifyFail(t testing.TB, s *store, seq int) string {
	t.Helper()
	out, code := s.verify(t)
	noPanic(t, "apie-serve verify", out)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("seq %d)", seq)) {
		t.Fatalf("apie-serve verify on damage at seq %d: exit %d, want 1 naming the seq:\n%s", seq, code, out)
	}
	return out
}

// TestLogDamageLast damages the last record without tearing it (a
// complete line that does not verify): that is not a torn write, so it is
// not cut; appends are refused with a JSON error that names no path, the
// log line names the file and seq, and verify exits 1 naming the seq.
func TestLogDamageLast(t *testing.T) {
	r := newRow(t, rowLogLast, "20 events; a hex digit of the last record's bodyHash changed, newline intact; restart, append through apie-serve and CGI, verify")
	s := seedStore(t, t.TempDir(), 20)
	damaged := changeHexDigit(t, readFile(t, s.path("events", "log")), 20, "bodyHash")
	writeFile(t, s.path("events", "log"), damaged)
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	res := c.must(t, "POST", "/events", appendBody(1, false, 10), nil)
	if res.status != http.StatusInternalServerError || !isJSONError(res.body) || bytes.Contains(res.body, []byte(s.dir)) {
		t.Fatalf("append onto a damaged last record: status %d %s, want a JSON 500 without server paths", res.status, res.body)
	}
	if !strings.Contains(srv.Output.String(), s.path("events", "log")) || !strings.Contains(srv.Output.String(), "seq 20") {
		t.Fatalf("the server log does not name the damaged file and seq:\n%s", srv.Output)
	}
	srv.Shutdown(t)
	mustFailCGI(t, s.store, cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: appendBody(1, false, 10)}),
		http.StatusInternalServerError, s.path("events", "log"), "seq 20")
	if now := readFile(t, s.path("events", "log")); !bytes.Equal(now, damaged) {
		t.Fatalf("the damaged last record was changed or cut (%d bytes, were %d)", len(now), len(damaged))
	}
	mustVerifyFail(t, s.store, 20)
	r.pass(3, "not cut (it is complete, so not a torn write); appends refused: JSON 500 without paths, log line naming the file and seq 20 (server and CGI); verify exit 1 naming seq 20; log bytes untouched")
}

// TestTornTail leaves what a crash mid-append leaves: half a record at the
// end of the log and a partial seq.idx entry; and, separately, a complete
// record that a killed writer fsync'd but did not index. The first is cut
// (logged), the second kept and indexed (logged); both verify and append.
func TestTornTail(t *testing.T) {
	r := newRow(t, rowTornTail, "20 events, then 60% of a record appended to log and 3 bytes to seq.idx; separately, the last seq.idx entry removed; restart, append, verify")
	s := seedStore(t, t.TempDir(), 20)
	log := readFile(t, s.path("events", "log"))
	start, end := recordSpan(t, log, 20)
	torn := append(bytes.Clone(log), log[start:start+(end-start)*6/10]...)
	writeFile(t, s.path("events", "log"), torn)
	seqIdx := readFile(t, s.path("events", "seq.idx"))
	writeFile(t, s.path("events", "seq.idx"), append(bytes.Clone(seqIdx), 1, 2, 3))

	srv := s.start(t, serverOptions{})
	for _, want := range []string{"cut a torn, unacknowledged tail", "cut a partial seq.idx entry"} {
		if !strings.Contains(srv.Output.String(), want) {
			t.Fatalf("restart after a torn write: the log does not say %q:\n%s", want, srv.Output)
		}
	}
	if now := readFile(t, s.path("events", "log")); !bytes.Equal(now, log) {
		t.Fatalf("after the cut the log is %d bytes, want the %d acknowledged ones", len(now), len(log))
	}
	c := srv.client(alice, alicePW)
	checkServerLog(t, c, s.led)
	mustAppend(t, c, s.led, appendBody(1, false, 10))
	srv.Shutdown(t)
	s.mustVerify(t)

	// A whole record past the last seq.idx entry was durable before its
	// writer died: it is kept and indexed, not cut.
	seqIdx = readFile(t, s.path("events", "seq.idx"))
	writeFile(t, s.path("events", "seq.idx"), seqIdx[:len(seqIdx)-8])
	srv = s.start(t, serverOptions{})
	if want := "indexed complete records found past the last seq.idx entry"; !strings.Contains(srv.Output.String(), want) {
		t.Fatalf("restart with an unindexed record: the log does not say %q:\n%s", want, srv.Output)
	}
	c = srv.client(alice, alicePW)
	checkServerLog(t, c, s.led)
	if res := c.must(t, "HEAD", "/events", nil, nil); res.header.Get("X-Apie-Count") != "21" {
		t.Fatalf("HEAD /events after re-indexing: count %q, want 21", res.header.Get("X-Apie-Count"))
	}
	mustAppend(t, c, s.led, appendBody(1, false, 10))
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(2, "torn record and partial entry cut back to the 20 acknowledged events, each cut logged; the unindexed whole record kept and indexed (logged); appends resume; verify exit 0")
}

// TestIndexDamage damages hash.idx and id.idx: a damaged header is
// detected (CRC) and the index rebuilt from the log, logged, answering as
// before; a damaged slot is not silently believed (no wrong event is
// served), verify names the index and seq (and appends stop), and
// deleting the index and running verify rebuilds it.
func TestIndexDamage(t *testing.T) {
	r := newRow(t, rowIdxDamage, "20 events; bytes of the hash.idx and id.idx headers flipped; then a slot of hash.idx given another seq; restart, GET every event, retry, verify, delete the index")
	s := seedStore(t, t.TempDir(), 20)
	for _, name := range []string{"hash.idx", "id.idx"} {
		b := readFile(t, s.path("events", name))
		b[20] ^= 0xff
		writeFile(t, s.path("events", name), b)
	}
	srv := s.start(t, serverOptions{})
	if n := strings.Count(srv.Output.String(), "rebuilding index from the log"); n != 2 {
		t.Fatalf("restart with two damaged index headers: %d rebuild log lines, want 2:\n%s", n, srv.Output)
	}
	c := srv.client(alice, alicePW)
	checkAnswers(t, c, s)
	srv.Shutdown(t)
	s.mustVerify(t)

	// A slot that names the wrong seq.
	idx := readFile(t, s.path("events", "hash.idx"))
	slots := binary.LittleEndian.Uint64(idx[16:24])
	var victim uint64
	for i := uint64(0); i < slots; i++ {
		at := 4096 + 16*i
		if seq := binary.LittleEndian.Uint64(idx[at+8 : at+16]); seq != 0 {
			victim = seq
			binary.LittleEndian.PutUint64(idx[at+8:at+16], seq%20+1)
			break
		}
	}
	if victim == 0 {
		t.Fatalf("no used slot in hash.idx level 0")
	}
	writeFile(t, s.path("events", "hash.idx"), idx)
	srv = s.start(t, serverOptions{})
	c = srv.client(alice, alicePW)
	ev := s.events[victim-1]
	res := c.must(t, "GET", "/events/"+ev.Hash.String(), nil, nil)
	if res.status == http.StatusOK {
		if got, err := decodeEvents(res.body); err != nil || got[0].Hash != ev.Hash {
			t.Fatalf("GET of seq %d through a damaged slot served another event: %s", victim, res.body)
		}
	}
	srv.Shutdown(t)
	out, code := s.verify(t)
	if code != 1 || !strings.Contains(out, s.path("events", "hash.idx")) || !strings.Contains(out, fmt.Sprintf("seq %d)", victim)) {
		t.Fatalf("verify with a damaged hash.idx slot for seq %d: exit %d, want 1 naming hash.idx and the seq:\n%s", victim, code, out)
	}
	// verify recorded the damage, so appends stop until it passes: the
	// damaged index deleted, verify rebuilds it from the log and passes.
	damagedAnswer(t, "apie-cgi after verify found index damage", cgiAppend(t, s.store), int(victim), s.dir)
	if err := os.Remove(s.path("events", "hash.idx")); err != nil {
		t.Fatal(err)
	}
	s.mustVerify(t)
	srv = s.start(t, serverOptions{})
	checkAnswers(t, srv.client(alice, alicePW), s)
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(3, fmt.Sprintf("damaged headers: both indexes rebuilt from the log, logged, every GET /events/<hash> and retry answered as before; damaged slot: no wrong event served (GET %d), verify exit 1 naming hash.idx and the seq, appends then refused (JSON 500 naming the seq); index deleted: verify rebuilds it and exits 0, appends resume", res.status))
}

// checkAnswers checks that the server answers for the seeded store's
// events as it did when they were written: every GET /events/<hash> the
// same record, the whole log the same bytes, and a retry of the first and
// last append requests 200 with the stored events.
func checkAnswers(t testing.TB, c *client, s *seeded) {
	t.Helper()
	for _, ev := range s.events {
		res := c.must(t, "GET", "/events/"+ev.Hash.String(), nil, nil)
		if res.status != http.StatusOK || res.header.Get("ETag") != `"`+ev.Hash.String()+`"` {
			t.Fatalf("GET /events/%s (seq %d): status %d, ETag %s", ev.Hash, ev.Seq, res.status, res.header.Get("ETag"))
		}
		if got, err := decodeEvents(res.body); err != nil || got[0].Hash != ev.Hash || got[0].Seq != ev.Seq {
			t.Fatalf("GET /events/%s: got %s, want seq %d", ev.Hash, res.body, ev.Seq)
		}
	}
	res := c.must(t, "GET", "/events", nil, map[string]string{"Accept": "application/x-ndjson"})
	if !bytes.HasPrefix(res.body, s.log) {
		t.Fatalf("GET /events does not start with the log as it was")
	}
	for _, body := range [][]byte{s.requests[0], s.requests[len(s.requests)-1]} {
		before := c.must(t, "HEAD", "/events", nil, nil).header.Get("X-Apie-Count")
		res := c.must(t, "POST", "/events", body, nil)
		if res.status != http.StatusOK {
			t.Fatalf("retry of a stored append: status %d %s, want 200", res.status, res.body)
		}
		evs, err := decodeEvents(res.body)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Seq > uint64(len(s.events)) || s.events[ev.Seq-1].Hash != ev.Hash {
				t.Fatalf("retry answered seq %d %s, not the stored event", ev.Seq, ev.Hash)
			}
		}
		if after := c.must(t, "HEAD", "/events", nil, nil).header.Get("X-Apie-Count"); after != before {
			t.Fatalf("a retry changed the count from %s to %s", before, after)
		}
	}
}
