package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
)

// genesis is the prevHash of the first event: SHA-256 of nothing.
const genesis = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// eventKeys are the members of a stored event, no more, no fewer.
var eventKeys = []string{"body", "bodyHash", "createdAt", "createdBy", "eventId", "eventType", "hash", "prevHash", "seq"}

// eventKeysSalted are those of an event stored with a bodySalt.
var eventKeysSalted = []string{"body", "bodyHash", "bodySalt", "createdAt", "createdBy", "eventId", "eventType", "hash", "prevHash", "seq"}

var (
	hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// stored is an event as apie returns it.
type stored struct {
	Seq       uint64          `json:"seq"`
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	Body      json.RawMessage `json:"body"`
	BodyHash  string          `json:"bodyHash"`
	BodySalt  string          `json:"bodySalt,omitempty"`
	CreatedBy string          `json:"createdBy"`
	CreatedAt string          `json:"createdAt"`
	PrevHash  string          `json:"prevHash"`
	Hash      string          `json:"hash"`
}

// checkEvent decodes one stored event and checks it the way any client
// can, with a JCS library and SHA-256 alone: exactly the contract's
// members (bodySalt on every event stored since salts, absent on an
// erased one), bodyHash = SHA-256(JCS({"body":body,"salt":bodySalt}))
// (SHA-256(JCS(body)) without a salt; an erased body, null without a
// salt, matches neither: whether a tombstone names it is the erase rows'
// to check), hash = SHA-256(JCS(the event without hash, body and
// bodySalt)), a UUID, an RFC 3339 UTC time, and the user.
func checkEvent(t testing.TB, raw []byte, user string) stored {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("event %q: %v", truncate(raw), err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := eventKeys
	if _, ok := m["bodySalt"]; ok {
		want = eventKeysSalted
	}
	if !slices.Equal(keys, want) {
		t.Errorf("event members: got %q, want %q", keys, want)
	}
	var e stored
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("event %q: %v", truncate(raw), err)
	}
	switch {
	case e.BodySalt != "":
		salted, err := json.Marshal(map[string]json.RawMessage{"body": m["body"], "salt": m["bodySalt"]})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.BodyHash, jcsHash(t, salted); got != want {
			t.Errorf("seq %d: bodyHash: got %q, want SHA-256(JCS({body, salt})) %q", e.Seq, got, want)
		}
	case string(e.Body) == "null" && e.BodyHash != sha([]byte("null")):
		// erased
	default:
		if got, want := e.BodyHash, jcsHash(t, m["body"]); got != want {
			t.Errorf("seq %d: bodyHash: got %q, want SHA-256(JCS(body)) %q", e.Seq, got, want)
		}
	}
	delete(m, "hash")
	delete(m, "body")
	delete(m, "bodySalt")
	rest, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("re-encode event: %v", err)
	}
	if got, want := e.Hash, jcsHash(t, rest); got != want {
		t.Errorf("seq %d: hash: got %q, want SHA-256(JCS(event without hash and body)) %q", e.Seq, got, want)
	}
	if !uuidRE.MatchString(e.EventID) {
		t.Errorf("seq %d: eventId %q is not a lowercase UUID", e.Seq, e.EventID)
	}
	if !hexHash.MatchString(e.PrevHash) {
		t.Errorf("seq %d: prevHash %q is not 64 lowercase hex", e.Seq, e.PrevHash)
	}
	if ts, err := time.Parse(time.RFC3339Nano, e.CreatedAt); err != nil || !strings.HasSuffix(e.CreatedAt, "Z") {
		t.Errorf("seq %d: createdAt %q is not RFC 3339 UTC", e.Seq, e.CreatedAt)
	} else if d := time.Since(ts); d < -time.Minute || d > time.Hour {
		t.Errorf("seq %d: createdAt %q is %s from now", e.Seq, e.CreatedAt, d)
	}
	if user != "" && e.CreatedBy != user {
		t.Errorf("seq %d: createdBy: got %q, want %q", e.Seq, e.CreatedBy, user)
	}
	return e
}

// checkChain checks a run of events read from the log: consecutive seqs
// from first, each linked to the one before (the first to prev).
func checkChain(t testing.TB, evs []stored, first uint64, prev string) {
	t.Helper()
	for i, e := range evs {
		if want := first + uint64(i); e.Seq != want {
			t.Fatalf("event %d: got seq %d, want %d", i, e.Seq, want)
		}
		if e.PrevHash != prev {
			t.Fatalf("seq %d: got prevHash %q, want %q", e.Seq, e.PrevHash, prev)
		}
		prev = e.Hash
	}
}

// jcsHash is SHA-256(JCS(raw)) in lowercase hex.
func jcsHash(t testing.TB, raw []byte) string {
	t.Helper()
	c, err := jcs.Transform(raw)
	if err != nil {
		t.Fatalf("JCS of %q: %v", truncate(raw), err)
	}
	s := sha256.Sum256(c)
	return hex.EncodeToString(s[:])
}

// sha is SHA-256(b) in lowercase hex.
func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// eventArray decodes a JSON array of events and checks each.
func eventArray(t testing.TB, body []byte, user string) []stored {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		t.Fatalf("want a JSON array of events, got %q: %v", truncate(body), err)
	}
	evs := make([]stored, len(raws))
	for i, r := range raws {
		evs[i] = checkEvent(t, r, user)
	}
	return evs
}

// ndjsonLines splits an NDJSON body into its lines, each checked to be
// one JSON value.
func ndjsonLines(t testing.TB, body []byte) [][]byte {
	t.Helper()
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		if !json.Valid(line) {
			t.Fatalf("NDJSON line %d is not JSON: %q", len(lines)+1, truncate(line))
		}
		lines = append(lines, line)
	}
	if len(body) > 0 && body[len(body)-1] != '\n' {
		t.Errorf("NDJSON body does not end with a newline")
	}
	return lines
}

// hashes lists the events' hashes.
func hashes(evs []stored) []string {
	hs := make([]string, len(evs))
	for i, e := range evs {
		hs[i] = e.Hash
	}
	return hs
}
