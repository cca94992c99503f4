package handler_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"apie/event"
	"apie/internal/apietest"
)

// eraseServer is an in-process apie with an admin (alice) and a user
// (bob), over a real file store.
type eraseServer struct {
	t   *testing.T
	srv *apietest.Server
}

func newEraseServer(t *testing.T) *eraseServer {
	t.Helper()
	srv := apietest.Start(t, apietest.Options{
		Config: `{"auth": {"bcryptCost": 4}, "admins": ["alice@example.com"]}`,
		Users: []apietest.User{
			{Email: "alice@example.com", Password: "alice password 1"},
			{Email: "bob@example.com", Password: "bob password 123"},
		},
	})
	return &eraseServer{t: t, srv: srv}
}

type answer struct {
	code   int
	header http.Header
	body   []byte
}

// do sends a request as user ("alice" or "bob").
func (s *eraseServer) do(user, method, path, body string, header map[string]string) answer {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	pw := map[string]string{"alice": "alice password 1", "bob": "bob password 123"}[user]
	req.SetBasicAuth(user+"@example.com", pw)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, b}
}

// TestEraseEndpoint: POST /events/<hash>/erase erases for an admin (200,
// the tombstone; again 200, the same one), refuses others (403) before
// looking the hash up, answers 404 for an unknown hash and 400 for a
// tombstone, a malformed hash or body, or a missing reason; refusals
// change nothing. GET of the erased event then shows body null.
func TestEraseEndpoint(t *testing.T) {
	s := newEraseServer(t)
	a := s.do("bob", "POST", "/events", `{"eventType":"person","body":{"email":"carol@example.com"}}`, nil)
	if a.code != http.StatusCreated {
		t.Fatalf("append: %d %s", a.code, a.body)
	}
	ev := decodeEvents(t, a.body)[0]
	h := ev.Hash.String()
	erase := "/events/" + h + "/erase"

	for _, tt := range []struct {
		name, user, path, body string
		code                   int
	}{
		{"non-admin", "bob", erase, `{"reason":"r"}`, http.StatusForbidden},
		{"non-admin, unknown hash", "bob", "/events/" + strings.Repeat("0", 64) + "/erase", `{"reason":"r"}`, http.StatusForbidden},
		{"unknown hash", "alice", "/events/" + strings.Repeat("0", 64) + "/erase", `{"reason":"r"}`, http.StatusNotFound},
		{"malformed hash", "alice", "/events/xyz/erase", `{"reason":"r"}`, http.StatusBadRequest},
		{"bad JSON", "alice", erase, `{"reason":`, http.StatusBadRequest},
		{"not an object", "alice", erase, `"r"`, http.StatusBadRequest},
		{"two objects", "alice", erase, `{"reason":"r"}{}`, http.StatusBadRequest},
		{"unknown member", "alice", erase, `{"reason":"r","force":true}`, http.StatusBadRequest},
		{"missing reason", "alice", erase, `{}`, http.StatusBadRequest},
		{"blank reason", "alice", erase, `{"reason":"  "}`, http.StatusBadRequest},
		{"reason not a string", "alice", erase, `{"reason":1}`, http.StatusBadRequest},
		{"reason too long", "alice", erase, `{"reason":"` + strings.Repeat("x", 4097) + `"}`, http.StatusBadRequest},
	} {
		got := s.do(tt.user, "POST", tt.path, tt.body, nil)
		if got.code != tt.code || !bytes.Contains(got.body, []byte(`"error"`)) {
			t.Errorf("%s: %d %s, want %d with a JSON error", tt.name, got.code, got.body, tt.code)
		}
	}
	if g := s.do("alice", "GET", "/events/"+h, "", nil); !bytes.Contains(g.body, []byte("carol@example.com")) {
		t.Fatalf("a refused erase changed the event: %s", g.body)
	}
	if g := s.do("alice", "GET", erase, "", nil); g.code != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", erase, g.code)
	}

	first := s.do("alice", "POST", erase, `{"reason":"GDPR art. 17"}`, nil)
	if first.code != http.StatusOK {
		t.Fatalf("erase: %d %s", first.code, first.body)
	}
	tomb, err := event.VerifyRecord(bytes.TrimSpace(first.body))
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := event.ParseTombstone(&tomb)
	if !ok || ts.Erased != ev.Hash || ts.Seq != 1 || ts.Reason != "GDPR art. 17" || tomb.CreatedBy != "alice@example.com" {
		t.Fatalf("tombstone %s", first.body)
	}
	if first.header.Get("X-Apie-Hash") != tomb.Hash.String() {
		t.Errorf("X-Apie-Hash %q, want the tombstone's", first.header.Get("X-Apie-Hash"))
	}
	again := s.do("alice", "POST", erase, `{"reason":"other"}`, nil)
	if again.code != http.StatusOK || !bytes.Equal(again.body, first.body) {
		t.Fatalf("erase again: %d %s, want 200 and the same tombstone", again.code, again.body)
	}
	if g := s.do("alice", "POST", "/events/"+tomb.Hash.String()+"/erase", `{"reason":"r"}`, nil); g.code != http.StatusBadRequest {
		t.Fatalf("erase of a tombstone: %d %s, want 400", g.code, g.body)
	}
	g := s.do("bob", "GET", "/events/"+h, "", nil)
	got := decodeEvents(t, g.body)[0]
	if g.code != http.StatusOK || string(got.Body) != "null" || got.BodySalt != "" || bytes.Contains(g.body, []byte("carol")) {
		t.Fatalf("GET the erased event: %d %s", g.code, g.body)
	}
	v := s.do("bob", "POST", "/events/verify", "", nil)
	if v.code != http.StatusOK || !bytes.Contains(v.body, []byte(`"erased":1`)) {
		t.Fatalf("verify: %d %s, want ok with 1 erased", v.code, v.body)
	}
	if n := s.do("bob", "HEAD", "/events", "", nil).header.Get("X-Apie-Count"); n != "2" {
		t.Fatalf("the log holds %s events, want 2 (erasing again appended)", n)
	}
}

// TestInfoAdmin: GET /info says whether the caller is an admin.
func TestInfoAdmin(t *testing.T) {
	s := newEraseServer(t)
	for user, want := range map[string]bool{"alice": true, "bob": false} {
		var info struct {
			Admin *bool `json:"admin"`
		}
		a := s.do(user, "GET", "/info", "", nil)
		if err := json.Unmarshal(a.body, &info); err != nil || info.Admin == nil || *info.Admin != want {
			t.Errorf("%s: /info %s, want admin %v", user, a.body, want)
		}
	}
}

// TestEraseChangesETags: the ETag of an event and of a read that holds
// it change when it is erased, so a cache that validates with the old
// one gets the erased body (200), never a 304; events are no longer
// cached as immutable.
func TestEraseChangesETags(t *testing.T) {
	s := newEraseServer(t)
	a := s.do("bob", "POST", "/events", `[{"eventType":"person","body":{"email":"carol@example.com"}},{"eventType":"x","body":1}]`, nil)
	evs := decodeEvents(t, a.body)
	if len(evs) != 2 {
		t.Fatalf("append: %d %s", a.code, a.body)
	}
	one, all := "/events/"+evs[0].Hash.String(), "/events"
	oldOne, oldAll := s.do("bob", "GET", one, "", nil), s.do("bob", "GET", all, "", nil)
	for name, a := range map[string]answer{one: oldOne, all: oldAll} {
		if a.header.Get("ETag") == "" {
			t.Fatalf("GET %s: no ETag", name)
		}
		if cc := a.header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
			t.Errorf("GET %s: Cache-Control %q: an event can be erased, it is not immutable", name, cc)
		}
		if r := s.do("bob", "GET", name, "", map[string]string{"If-None-Match": a.header.Get("ETag")}); r.code != http.StatusNotModified {
			t.Fatalf("GET %s with its ETag before the erase: %d, want 304", name, r.code)
		}
	}
	if e := s.do("alice", "POST", one+"/erase", `{"reason":"r"}`, nil); e.code != http.StatusOK {
		t.Fatalf("erase: %d %s", e.code, e.body)
	}
	for name, old := range map[string]answer{one: oldOne, all: oldAll} {
		r := s.do("bob", "GET", name, "", map[string]string{"If-None-Match": old.header.Get("ETag")})
		if r.code != http.StatusOK || bytes.Contains(r.body, []byte("carol")) {
			t.Fatalf("GET %s with the ETag from before the erase: %d %s, want 200 with the body erased", name, r.code, r.body)
		}
		if r.header.Get("ETag") == old.header.Get("ETag") {
			t.Fatalf("GET %s: the ETag did not change with the erase", name)
		}
		if again := s.do("bob", "GET", name, "", map[string]string{"If-None-Match": r.header.Get("ETag")}); again.code != http.StatusNotModified {
			t.Fatalf("GET %s with the new ETag: %d, want 304", name, again.code)
		}
	}
}

// decodeEvents checks and decodes an answer of one event or an array of
// them; erased events are accepted.
func decodeEvents(t *testing.T, body []byte) []event.Event {
	t.Helper()
	body = bytes.TrimSpace(body)
	raws := []json.RawMessage{body}
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			t.Fatalf("answer %s: %v", body, err)
		}
	}
	var evs []event.Event
	for _, raw := range raws {
		ev, _, err := event.VerifyErasable(bytes.TrimSpace(raw))
		if err != nil {
			t.Fatalf("answer %s: %v", raw, err)
		}
		evs = append(evs, ev)
	}
	return evs
}
