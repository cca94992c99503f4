package faults

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestIndexLoss deletes hash.idx, id.idx, seq.idx, and all three, from a
// stopped store: at the next start each is rebuilt from the log with a
// log line, and the server answers exactly as before (every GET
// /events/<hash> with its ETag, the whole log, HEAD, idempotent retries),
// takes appends, and verifies.
func TestIndexLoss(t *testing.T) {
	cases := []struct {
		row   string
		files []string
		logs  []string // what the restart must log
	}{
		{rowLostHashIdx, []string{"hash.idx"}, []string{"rebuilding index from the log"}},
		{rowLostIDIdx, []string{"id.idx"}, []string{"rebuilding index from the log"}},
		{rowLostSeqIdx, []string{"seq.idx"}, []string{"indexed complete records found past the last seq.idx entry"}},
		{rowLostAllIdx, []string{"hash.idx", "id.idx", "seq.idx"},
			[]string{"rebuilding index from the log", "indexed complete records found past the last seq.idx entry"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.files, "+"), func(t *testing.T) {
			r := newRow(t, tc.row, "30 events in 1–3-event appends; apie-serve stopped; "+strings.Join(tc.files, ", ")+" deleted; restart")
			s := seedStore(t, t.TempDir(), 30)
			srv := s.start(t, serverOptions{})
			c := srv.client(alice, alicePW)
			head := c.must(t, "HEAD", "/events", nil, nil).header
			srv.Shutdown(t)
			for _, name := range tc.files {
				if err := os.Remove(s.path("events", name)); err != nil {
					t.Fatal(err)
				}
			}
			srv = s.start(t, serverOptions{})
			for _, want := range tc.logs {
				if !strings.Contains(srv.Output.String(), want) {
					t.Fatalf("restart without %s: the log does not say %q:\n%s", tc.files, want, srv.Output)
				}
			}
			for _, name := range tc.files {
				if _, err := os.Stat(s.path("events", name)); err != nil {
					t.Fatalf("%s was not rebuilt: %v", name, err)
				}
			}
			c = srv.client(alice, alicePW)
			now := c.must(t, "HEAD", "/events", nil, nil).header
			for _, h := range []string{"ETag", "X-Apie-Hash", "X-Apie-Count"} {
				if now.Get(h) != head.Get(h) {
					t.Fatalf("HEAD /events %s: got %q, want %q as before", h, now.Get(h), head.Get(h))
				}
			}
			checkAnswers(t, c, s)
			if res := c.must(t, "GET", "/events?from="+s.events[10].Hash.String()+"&limit=5", nil, nil); res.status != http.StatusOK {
				t.Fatalf("GET /events?from=<seq 11>: status %d", res.status)
			}
			mustAppend(t, c, s.led, appendBody(2, true, 10))
			checkServerLog(t, c, s.led)
			srv.Shutdown(t)
			s.mustVerify(t)
			r.pass(len(s.events), "rebuilt from the log at start, logged; HEAD, GET /events, every GET /events/<hash> (with ETag) and retries (200, same events) answered as before; appends resume; verify exit 0")
		})
	}
}
