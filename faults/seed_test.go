package faults

import (
	"bytes"
	"net/http"
	"testing"

	"apie/event"
)

// A seeded store holds events and one blob written through apie-serve,
// which is stopped again, with what apie answered.
type seeded struct {
	*store
	led      *ledger
	requests [][]byte      // the append request bodies, in order
	log      []byte        // GET /events as NDJSON
	events   []event.Event // the events, in seq order
	blob     []byte
	blobHash string
}

// seedStore makes a store in dir with n events (appended one to three at
// a time) and one blob.
func seedStore(t *testing.T, dir string, n int) *seeded {
	t.Helper()
	s := &seeded{store: newStore(t, dir, storeOptions{}), led: newLedger()}
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	for done := 0; done < n; {
		k := min(1+done%3, n-done)
		body := appendBody(k, k > 1, 100)
		mustAppend(t, c, s.led, body)
		s.requests = append(s.requests, body)
		done += k
	}
	s.blob, s.blobHash = randomBytes(50 << 10)
	if err := ackBlob(s.led, c.must(t, "PUT", "/storage/seed.bin", s.blob, nil), s.blobHash, len(s.blob)); err != nil {
		t.Fatal(err)
	}
	res := c.must(t, "GET", "/events", nil, map[string]string{"Accept": "application/x-ndjson"})
	if res.status != http.StatusOK {
		t.Fatalf("GET /events: status %d", res.status)
	}
	s.log = res.body
	for _, line := range bytes.SplitAfter(res.body, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		ev, err := event.VerifyRecord(bytes.TrimSuffix(line, []byte("\n")))
		if err != nil {
			t.Fatal(err)
		}
		s.events = append(s.events, ev)
	}
	if len(s.events) != n {
		t.Fatalf("seeded %d events, the log holds %d", n, len(s.events))
	}
	srv.Shutdown(t)
	return s
}
