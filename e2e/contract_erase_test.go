package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The Erasure part of the contract: the table's user is an admin
// (testConfig's "admins"). A non-admin's 403 is checked in package
// handler, where a second user costs nothing.

// erasure is what the erase rows share: the erased event, its tombstone,
// and the validators of answers from before the erase.
type erasure struct {
	target    stored
	request   []byte // the append that stored target
	tombstone []byte // the erase's answer
	oldETags  map[string]string
}

// eraseSecret is the body the rows erase; no answer may hold it after.
const eraseSecret = "carol.erased@example.com"

func eraseRows() []contractRow {
	var e erasure
	return []contractRow{
		{"GET /info: the table's user is an admin", func(t *testing.T, c *contract) {
			var v struct {
				Admin *bool `json:"admin"`
			}
			c.tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK).json(t, &v)
			if v.Admin == nil || !*v.Admin {
				t.Fatalf("/info admin: %v, want true for %s (apie.json admins)", v.Admin, c.tg.user)
			}
		}},
		{"new events carry a bodySalt; bodyHash = SHA-256(JCS({body, salt}))", func(t *testing.T, c *contract) {
			e.request = []byte(`{"eventId":"7f0c3e2a-4b1d-4c6e-9a8f-0123456789ab","eventType":"person.registered","body":{"email":"` + eraseSecret + `"}}`)
			evs := c.wantAppended(t, c.tg.do(t, http.MethodPost, "/events", e.request), http.StatusCreated, false, 1)
			e.target = evs[0]
			if !regexpHex32(e.target.BodySalt) {
				t.Fatalf("bodySalt %q is not 32 lowercase hex", e.target.BodySalt)
			}
			// checkEvent has checked the salted rule; keep the validators
			// of answers that hold the event.
			e.oldETags = map[string]string{}
			for _, path := range []string{"/events/" + e.target.Hash, "/events"} {
				r := c.tg.do(t, http.MethodGet, path, nil).want(t, http.StatusOK)
				if cc := r.header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
					t.Errorf("GET %s: Cache-Control %q: an event can be erased, so it is not immutable", path, cc)
				}
				e.oldETags[path] = r.header.Get("ETag")
				c.tg.do(t, http.MethodGet, path, nil, header("If-None-Match", e.oldETags[path])).want(t, http.StatusNotModified)
			}
		}},
		{"POST /events/<hash>/erase: 200, the apie.erased event by the admin, appended", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events/"+e.target.Hash+"/erase", []byte(`{"reason":"GDPR art. 17 request"}`))
			r.want(t, http.StatusOK)
			r.wantContentType(t, "application/json")
			tomb := checkEvent(t, r.body, c.tg.user)
			var body struct {
				Erased string `json:"erased"`
				Seq    uint64 `json:"seq"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(tomb.Body, &body); err != nil || tomb.EventType != "apie.erased" ||
				body.Erased != e.target.Hash || body.Seq != e.target.Seq || body.Reason != "GDPR art. 17 request" {
				t.Fatalf("tombstone %s", r.body)
			}
			if tomb.Seq != uint64(len(c.evs))+1 || tomb.PrevHash != c.head() {
				t.Fatalf("tombstone seq %d prevHash %s, want the next event after %s", tomb.Seq, tomb.PrevHash, c.head())
			}
			r.wantHeader(t, "X-Apie-Hash", tomb.Hash)
			c.evs = append(c.evs, tomb)
			c.evs[e.target.Seq-1].Body, c.evs[e.target.Seq-1].BodySalt = json.RawMessage("null"), ""
			e.tombstone = r.body
			c.wantCount(t)
		}},
		{"the erased event: body null, no bodySalt, hash and bodyHash kept; in no answer", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodGet, "/events/"+e.target.Hash, nil).want(t, http.StatusOK)
			got := checkEvent(t, r.body, c.tg.user)
			if string(got.Body) != "null" || got.BodySalt != "" || got.Hash != e.target.Hash || got.BodyHash != e.target.BodyHash ||
				got.EventID != e.target.EventID || got.EventType != e.target.EventType || got.CreatedAt != e.target.CreatedAt {
				t.Fatalf("erased event %s, was %+v", r.body, e.target)
			}
			for _, accept := range []string{"application/json", "application/x-ndjson"} {
				r := c.tg.do(t, http.MethodGet, "/events", nil, header("Accept", accept)).want(t, http.StatusOK)
				if bytes.Contains(r.body, []byte(eraseSecret)) || bytes.Contains(r.body, []byte(e.target.BodySalt)) {
					t.Fatalf("GET /events (%s) still holds the erased body or its salt", accept)
				}
			}
		}},
		{"answers cached before the erase are not revalidated: new ETags, 200 not 304", func(t *testing.T, c *contract) {
			for path, old := range e.oldETags {
				r := c.tg.do(t, http.MethodGet, path, nil, header("If-None-Match", old)).want(t, http.StatusOK)
				if bytes.Contains(r.body, []byte(eraseSecret)) {
					t.Fatalf("GET %s: the erased body", path)
				}
				tag := r.header.Get("ETag")
				if tag == "" || tag == old {
					t.Fatalf("GET %s: ETag %q after the erase, was %q", path, tag, old)
				}
				c.tg.do(t, http.MethodGet, path, nil, header("If-None-Match", tag)).want(t, http.StatusNotModified)
			}
		}},
		{"erasing again answers 200 with the same apie.erased event; nothing appended", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events/"+e.target.Hash+"/erase", []byte(`{"reason":"asked twice"}`)).want(t, http.StatusOK)
			if !bytes.Equal(bytes.TrimSpace(r.body), bytes.TrimSpace(e.tombstone)) {
				t.Fatalf("erase again: %s, want %s", r.body, e.tombstone)
			}
			c.wantCount(t)
		}},
		{"a retry of the erased event answers 200 with it erased; never appended again", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events", e.request)
			evs := c.wantAppended(t, r, http.StatusOK, false, 1)
			if evs[0].Hash != e.target.Hash || string(evs[0].Body) != "null" {
				t.Fatalf("retry: %s", r.body)
			}
			c.wantCount(t)
		}},
		{"erase refuses: unknown hash 404, a tombstone 400, bad JSON or no reason 400, GET 405; nothing changes", func(t *testing.T, c *contract) {
			tomb := c.evs[len(c.evs)-1].Hash
			for _, tt := range []struct {
				method, path, body string
				code               int
			}{
				{http.MethodPost, "/events/" + strings.Repeat("0", 64) + "/erase", `{"reason":"r"}`, http.StatusNotFound},
				{http.MethodPost, "/events/" + tomb + "/erase", `{"reason":"r"}`, http.StatusBadRequest},
				{http.MethodPost, "/events/" + c.evs[0].Hash + "/erase", `{"reason":`, http.StatusBadRequest},
				{http.MethodPost, "/events/" + c.evs[0].Hash + "/erase", `{}`, http.StatusBadRequest},
				{http.MethodPost, "/events/" + c.evs[0].Hash + "/erase", `{"reason":""}`, http.StatusBadRequest},
				{http.MethodPost, "/events/" + c.evs[0].Hash + "/erase", `{"reason":"r","extra":1}`, http.StatusBadRequest},
				{http.MethodPost, "/events/NOTAHASH/erase", `{"reason":"r"}`, http.StatusBadRequest},
				{http.MethodGet, "/events/" + c.evs[0].Hash + "/erase", "", http.StatusMethodNotAllowed},
			} {
				var body []byte
				if tt.body != "" {
					body = []byte(tt.body)
				}
				r := c.tg.do(t, tt.method, tt.path, body)
				if r.status != tt.code {
					t.Errorf("%s %s %s: %d %s, want %d", tt.method, tt.path, tt.body, r.status, truncate(r.body), tt.code)
				}
			}
			c.wantCount(t)
			r := c.tg.do(t, http.MethodGet, "/events/"+c.evs[0].Hash, nil).want(t, http.StatusOK)
			if got := checkEvent(t, r.body, ""); string(got.Body) == "null" {
				t.Fatal("a refused erase erased the event")
			}
		}},
		{"POST /events/verify passes and counts the erased event", func(t *testing.T, c *contract) {
			var v struct {
				Status string `json:"status"`
				Events int    `json:"events"`
				Erased *int   `json:"erased"`
			}
			c.tg.do(t, http.MethodPost, "/events/verify", nil).want(t, http.StatusOK).json(t, &v)
			if v.Status != "ok" || v.Events != len(c.evs) || v.Erased == nil || *v.Erased != 1 {
				t.Fatalf("verify: %+v, want ok, %d events, 1 erased", v, len(c.evs))
			}
		}},
	}
}

// regexpHex32 reports whether s is 32 lowercase hex digits.
func regexpHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := strconv.ParseUint(s[:16], 16, 64)
	_, err2 := strconv.ParseUint(s[16:], 16, 64)
	return err == nil && err2 == nil && strings.ToLower(s) == s
}
