package faults

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"sync"

	apieclient "apie/client"
	"apie/event"
	"apie/sum"
)

// A ledger remembers what apie acknowledged (a 2xx answer), and the
// requests whose answer was lost (the connection died), so a test can
// check after a crash that every acknowledged write survived.
type ledger struct {
	mu     sync.Mutex
	events map[sum.Hash]string // acknowledged event hash -> eventId
	blobs  map[string]int64    // acknowledged blob hash -> size
	lost   [][]byte            // append bodies sent without an answer
}

func newLedger() *ledger {
	return &ledger{events: make(map[sum.Hash]string), blobs: make(map[string]int64)}
}

// ackEvents records the events of a 200/201 answer to an append (one event
// or an array of them).
func (l *ledger) ackEvents(body []byte) error {
	evs, err := decodeEvents(body)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range evs {
		l.events[ev.Hash] = ev.EventID
	}
	return nil
}

// ackBlob records a blob the server acknowledged.
func (l *ledger) ackBlob(hash string, size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.blobs[hash] = size
}

// lose records an append whose answer never came.
func (l *ledger) lose(body []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lost = append(l.lost, body)
}

// takeLost returns the lost appends and forgets them.
func (l *ledger) takeLost() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	lost := l.lost
	l.lost = nil
	return lost
}

// counts returns how many events and blobs were acknowledged.
func (l *ledger) counts() (events, blobs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events), len(l.blobs)
}

// decodeEvents verifies the events of an append answer against the hash
// rule and returns them.
func decodeEvents(body []byte) ([]event.Event, error) {
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
	} else {
		raws = []json.RawMessage{body}
	}
	evs := make([]event.Event, len(raws))
	for i, raw := range raws {
		ev, err := event.VerifyRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("answer event %d: %w", i, err)
		}
		evs[i] = ev
	}
	return evs, nil
}

// checkChain verifies an NDJSON log (GET /events with Accept:
// application/x-ndjson, or the log file itself): every record by the hash
// rule, seqs 1, 2, 3..., each prevHash the hash before. An erased record
// (body null, no bodySalt, padded with spaces) is accepted only when a
// later apie.erased event names it, and every apie.erased event must name
// an erased record: never a tombstone without its erasure. It returns
// the events by hash.
func checkChain(ndjson []byte) (map[sum.Hash]event.Event, error) {
	byHash := make(map[sum.Hash]event.Event)
	bySeq := make(map[uint64]event.Event)
	pending := make(map[sum.Hash]uint64) // erased, not yet named
	prev := sum.Genesis
	lines := bytes.Split(ndjson, []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	} else if len(ndjson) > 0 {
		return nil, fmt.Errorf("log does not end with a newline (a torn record)")
	}
	for i, line := range lines {
		ev, erased, err := event.VerifyErasable(bytes.TrimRight(line, " "))
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
		if ev.Seq != uint64(i+1) {
			return nil, fmt.Errorf("record %d holds seq %d", i+1, ev.Seq)
		}
		if ev.PrevHash != prev {
			return nil, fmt.Errorf("seq %d: prevHash %s, want %s", ev.Seq, ev.PrevHash, prev)
		}
		if erased {
			pending[ev.Hash] = ev.Seq
		}
		if ts, ok := event.ParseTombstone(&ev); ok {
			named, ok := bySeq[ts.Seq]
			if !ok || named.Hash != ts.Erased || !named.Erased() {
				return nil, fmt.Errorf("seq %d: apie.erased names seq %d (%s), which is not an erased event: a tombstone without its erasure", ev.Seq, ts.Seq, ts.Erased)
			}
			delete(pending, ts.Erased)
		}
		prev = ev.Hash
		byHash[ev.Hash] = ev
		bySeq[ev.Seq] = ev
	}
	for h, seq := range pending {
		return nil, fmt.Errorf("seq %d (%s): body erased but no apie.erased event names it", seq, h)
	}
	return byHash, nil
}

// checkAcked reports the first acknowledged event missing from log.
func (l *ledger) checkAcked(log map[sum.Hash]event.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for h, id := range l.events {
		ev, ok := log[h]
		if !ok {
			return fmt.Errorf("acknowledged event %s (eventId %s) is not in the log", h, id)
		}
		if ev.EventID != id {
			return fmt.Errorf("event %s: eventId %s, want %s", h, ev.EventID, id)
		}
	}
	return nil
}

// appendBody returns an append request of n events (an array if batch)
// with fresh eventIds and a body of about size bytes each.
func appendBody(n int, batch bool, size int) []byte {
	type draft struct {
		EventID   string         `json:"eventId"`
		EventType string         `json:"eventType"`
		Body      map[string]any `json:"body"`
		Stream    string         `json:"stream,omitempty"`
	}
	ds := make([]draft, n)
	for i := range ds {
		pad := make([]byte, size/2)
		rand.Read(pad)
		ds[i] = draft{EventID: apieclient.NewEventID(), EventType: "fault.test", Body: map[string]any{"i": i, "pad": hex.EncodeToString(pad)}}
		if k := randInt(8); k < faultStreams {
			ds[i].Stream = "/fault/" + strconv.Itoa(k) // half the events join one of a few streams
		}
	}
	var v any = ds
	if !batch {
		v = ds[0]
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain strings and numbers always marshal
	}
	return b
}

// randomBytes returns n random bytes and their SHA-256 in hex.
func randomBytes(n int) ([]byte, string) {
	b := make([]byte, n)
	rand.Read(b)
	return b, sha256hex(b)
}

// sha256hex returns the SHA-256 of b in lowercase hex.
func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// randInt returns a uniform random int in [0, n).
func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err)
	}
	return int(v.Int64())
}

// faultStreams is how many streams appendBody's events join.
const faultStreams = 4

// checkStreams reads each stream appendBody writes to and checks it
// against the log read whole: the same events, in log order, numbered
// 1, 2, 3…, and HEAD's count agreeing.
func checkStreams(d doer, log map[sum.Hash]event.Event) error {
	want := make(map[string][]event.Event)
	for _, ev := range log {
		if ev.Stream != "" {
			want[ev.Stream] = append(want[ev.Stream], ev)
		}
	}
	for k := range faultStreams {
		name := "/fault/" + strconv.Itoa(k)
		evs := want[name]
		slices.SortFunc(evs, func(a, b event.Event) int { return cmp.Compare(a.Seq, b.Seq) })
		res, err := d.do("GET", "/events?stream="+name, nil, nil)
		if err != nil {
			return fmt.Errorf("GET /events?stream=%s: %w", name, err)
		}
		if res.status != http.StatusOK {
			return fmt.Errorf("GET /events?stream=%s: status %d: %s", name, res.status, res.body)
		}
		got, err := decodeErasable(res.body) // erased or not as the log holds them, below
		if err != nil {
			return fmt.Errorf("GET /events?stream=%s: %w", name, err)
		}
		if len(got) != len(evs) {
			return fmt.Errorf("stream %s reads %d events, the log holds %d", name, len(got), len(evs))
		}
		for i, ev := range got {
			if ev.Hash != evs[i].Hash || ev.StreamSeq != uint64(i+1) || ev.Erased() != evs[i].Erased() {
				return fmt.Errorf("stream %s: event %d is seq %d #%d, want seq %d #%d", name, i+1, ev.Seq, ev.StreamSeq, evs[i].Seq, i+1)
			}
		}
		head, err := d.do("HEAD", "/events?stream="+name, nil, nil)
		if err != nil {
			return fmt.Errorf("HEAD /events?stream=%s: %w", name, err)
		}
		if c := head.header.Get("X-Apie-Count"); c != strconv.Itoa(len(evs)) {
			return fmt.Errorf("HEAD /events?stream=%s: count %s, want %d", name, c, len(evs))
		}
	}
	return nil
}
