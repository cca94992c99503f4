package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestContract runs the contract table against every transport, each on a
// fresh data directory.
func TestContract(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			runContract(t, tr.start(t))
		})
	}
}

// contract is what the rows share while they walk one transport: the log
// as it should be, the blobs stored, the credentials in force.
type contract struct {
	tg    *target
	evs   []stored          // every event in the log, oldest first
	blobs map[string][]byte // hash -> bytes, every blob stored
	token string
}

// contractRow is one promise of the README's API section (apie's
// contract), checked over HTTP. Rows run in order and build on each other
// (the log grows as they go).
type contractRow struct {
	name string
	run  func(t *testing.T, c *contract)
}

// runContract runs every row of the table against tg.
func runContract(t *testing.T, tg *target) {
	runRows(t, tg, contractTable())
}

// runRows runs rows in order against tg.
func runRows(t *testing.T, tg *target, rows []contractRow) {
	c := &contract{tg: tg, blobs: map[string][]byte{}}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { row.run(t, c) })
	}
}

// contractTable is the table: the event rows, the blob rows, the erase
// rows, the user rows (which change the password), then the consumer rows.
func contractTable() []contractRow {
	return slices.Concat(rootAndAuthRows(), appendRows(), readRows(), inputRows(), followRows(), blobRows(), eraseRows(), userRows(), consumerRows(), streamRows(), followStreamRows())
}

// need stops the row unless the rows before it left at least n events.
func (c *contract) need(t *testing.T, n int) {
	t.Helper()
	if len(c.evs) < n {
		t.Fatalf("want at least %d events from the rows before, have %d", n, len(c.evs))
	}
}

// head is the hash of the last event the rows know of, or genesis.
func (c *contract) head() string {
	if len(c.evs) == 0 {
		return genesis
	}
	return c.evs[len(c.evs)-1].Hash
}

// wantCount checks HEAD /events: the count and the head headers.
func (c *contract) wantCount(t *testing.T) {
	t.Helper()
	r := c.tg.do(t, http.MethodHead, "/events", nil).want(t, http.StatusOK)
	r.wantHeader(t, "X-Apie-Count", strconv.Itoa(len(c.evs)))
	if len(c.evs) == 0 {
		r.wantNoHeader(t, "ETag")
		r.wantNoHeader(t, "X-Apie-Hash")
		return
	}
	r.wantHeader(t, "ETag", `"`+c.head()+`"`)
	r.wantHeader(t, "X-Apie-Hash", c.head())
	if len(r.body) != 0 {
		t.Errorf("HEAD /events: got a body %q", r.body)
	}
}

// wantAppended checks a successful append's answer (status, Location,
// ETag, X-Apie-Hash, the stored events) and records the new events.
func (c *contract) wantAppended(t *testing.T, r *reply, status int, batch bool, n int) []stored {
	t.Helper()
	r.want(t, status)
	r.wantContentType(t, "application/json")
	var evs []stored
	if batch {
		evs = eventArray(t, r.body, c.tg.user)
	} else {
		evs = []stored{checkEvent(t, r.body, c.tg.user)}
	}
	if len(evs) != n {
		t.Fatalf("got %d events back, want %d", len(evs), n)
	}
	last := evs[len(evs)-1].Hash
	if status == http.StatusCreated {
		r.wantHeader(t, "Location", c.tg.base+"/events/"+last)
	} else {
		// A Location on a 200 would make a CGI server answer with a
		// redirect's page instead (RFC 3875 6.2.2).
		r.wantNoHeader(t, "Location")
	}
	r.wantHeader(t, "ETag", `"`+last+`"`)
	r.wantHeader(t, "X-Apie-Hash", last)
	for _, e := range evs {
		if e.Seq == uint64(len(c.evs))+1 {
			if e.PrevHash != c.head() {
				t.Errorf("seq %d: got prevHash %q, want the head %q", e.Seq, e.PrevHash, c.head())
			}
			c.evs = append(c.evs, e)
		} else if e.Seq == 0 || e.Seq > uint64(len(c.evs)) || c.evs[e.Seq-1].Hash != e.Hash {
			t.Fatalf("seq %d (%s) is neither the next event nor one already stored", e.Seq, e.Hash)
		}
	}
	return evs
}

// event is a new event's JSON.
func event(eventType, body string) string {
	return fmt.Sprintf(`{"eventType":%q,"body":%s}`, eventType, body)
}

// eventWithID is a new event's JSON with the client's eventId.
func eventWithID(id, eventType, body string) string {
	return fmt.Sprintf(`{"eventId":%q,"eventType":%q,"body":%s}`, id, eventType, body)
}

func rootAndAuthRows() []contractRow {
	return []contractRow{
		{"GET / needs no auth", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodGet, "/", nil, noAuth()).want(t, http.StatusOK)
			r.wantContentType(t, "text/plain")
			if got, want := string(r.body), "Apie "+testVersion+"\n"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}},
		{"HEAD /events on an empty log has no hash headers", func(t *testing.T, c *contract) {
			c.wantCount(t)
		}},
		{"GET /events on an empty log is an empty array", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodGet, "/events", nil).want(t, http.StatusOK)
			r.wantContentType(t, "application/json")
			if got := eventArray(t, r.body, ""); len(got) != 0 {
				t.Errorf("got %d events, want none", len(got))
			}
		}},
		{"401 is the same for no, wrong, unknown and malformed credentials", func(t *testing.T, c *contract) {
			cases := []struct {
				name string
				opt  reqOpt
			}{
				{"none", noAuth()},
				{"wrong password", basic(c.tg.user, "not the password")},
				{"unknown user", basic("mallory@example.org", c.tg.password)},
				{"malformed", header("Authorization", "Basic !!!")},
			}
			var first []byte
			for _, tc := range cases {
				r := c.tg.do(t, http.MethodGet, "/events", nil, tc.opt)
				if r.status != http.StatusUnauthorized {
					t.Errorf("%s: got status %d, want 401", tc.name, r.status)
				}
				r.wantHeader(t, "WWW-Authenticate", `Basic realm="Apie"`)
				if first == nil {
					first = r.body
				} else if !bytes.Equal(r.body, first) {
					t.Errorf("%s: got body %q, want the same as with no credentials, %q", tc.name, r.body, first)
				}
			}
			// A success clears apie-serve's failed-login count.
			c.tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK)
		}},
		{"405 with Allow for a wrong method", func(t *testing.T, c *contract) {
			cases := []struct{ method, path, allow string }{
				{http.MethodDelete, "/events", "POST"},
				{http.MethodPatch, "/storage/x", "PUT"},
				{http.MethodGet, "/user/update", "POST"},
				{http.MethodGet, "/auth/token", "POST"},
				{http.MethodPut, "/info", "GET"},
			}
			for _, tc := range cases {
				r := c.tg.do(t, tc.method, tc.path, nil)
				if r.status != http.StatusMethodNotAllowed {
					t.Errorf("%s %s: got status %d, want 405", tc.method, tc.path, r.status)
				}
				if !strings.Contains(r.header.Get("Allow"), tc.allow) {
					t.Errorf("%s %s: got Allow %q, want it to list %s", tc.method, tc.path, r.header.Get("Allow"), tc.allow)
				}
			}
		}},
		{"404 for an unknown route", func(t *testing.T, c *contract) {
			c.tg.do(t, http.MethodGet, "/nope", nil).want(t, http.StatusNotFound)
		}},
	}
}

func appendRows() []contractRow {
	return []contractRow{
		{"POST /events appends one event: 201, Location, ETag, X-Apie-Hash", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events", []byte(event("todo.added", `{"title":"milk","n":1.0,"z":[true,null]}`)),
				header("Content-Type", "application/json"))
			e := c.wantAppended(t, r, http.StatusCreated, false, 1)[0]
			if e.Seq != 1 || e.PrevHash != genesis {
				t.Errorf("got seq %d prevHash %q, want 1 and the SHA-256 of nothing", e.Seq, e.PrevHash)
			}
			if got, want := string(e.Body), `{"n":1,"title":"milk","z":[true,null]}`; got != want {
				t.Errorf("body: got %s, want it kept by value in canonical form %s", got, want)
			}
			c.wantCount(t)
		}},
		{"If-Match of the empty log on a non-empty log: 412 with the head", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events", []byte(event("x", "1")), header("If-Match", `"`+genesis+`"`))
			r.want(t, http.StatusPreconditionFailed)
			r.wantHeader(t, "ETag", `"`+c.head()+`"`)
			r.wantHeader(t, "X-Apie-Hash", c.head())
			c.wantCount(t)
		}},
		{"If-Match of the head (quotes optional) appends", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events", []byte(event("todo.done", `{"title":"milk"}`)), header("If-Match", c.head()))
			c.wantAppended(t, r, http.StatusCreated, false, 1)
			c.wantCount(t)
		}},
		{"If-Match of a stale hash: 412 with the head, nothing written", func(t *testing.T, c *contract) {
			c.need(t, 2)
			r := c.tg.do(t, http.MethodPost, "/events", []byte(event("x", "2")), header("If-Match", `"`+c.evs[0].Hash+`"`))
			r.want(t, http.StatusPreconditionFailed)
			r.wantHeader(t, "ETag", `"`+c.head()+`"`)
			r.wantHeader(t, "X-Apie-Hash", c.head())
			c.wantCount(t)
		}},
		{"If-Match malformed: 400", func(t *testing.T, c *contract) {
			c.tg.do(t, http.MethodPost, "/events", []byte(event("x", "3")), header("If-Match", `"abc"`)).want(t, http.StatusBadRequest)
			c.wantCount(t)
		}},
		{"PUT /events appends a batch atomically and consecutively", func(t *testing.T, c *contract) {
			batch := "[" + eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01", "a", `{"i":1}`) + "," +
				eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a02", "b", `[2,3]`) + "," +
				eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a03", "c", `"three"`) + "]"
			before := len(c.evs)
			r := c.tg.do(t, http.MethodPut, "/events", []byte(batch), header("If-Match", `"`+c.head()+`"`))
			evs := c.wantAppended(t, r, http.StatusCreated, true, 3)
			for i, e := range evs {
				if want := uint64(before + 1 + i); e.Seq != want {
					t.Errorf("batch event %d: got seq %d, want %d", i, e.Seq, want)
				}
			}
			if evs[0].EventID != "0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01" {
				t.Errorf("got eventId %q, want the client's", evs[0].EventID)
			}
			c.wantCount(t)
		}},
		{"a retried batch is 200 with the stored events, whatever If-Match says", func(t *testing.T, c *contract) {
			batch := "[" + eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01", "a", `{"i":1}`) + "," +
				eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a02", "b", `[2,3]`) + "," +
				eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a03", "c", `"three"`) + "]"
			c.need(t, 3)
			want := hashes(c.evs[len(c.evs)-3:])
			r := c.tg.do(t, http.MethodPut, "/events", []byte(batch), header("If-Match", `"`+genesis+`"`))
			if got := hashes(c.wantAppended(t, r, http.StatusOK, true, 3)); !slices.Equal(got, want) {
				t.Errorf("got hashes %q, want the stored %q", got, want)
			}
			r = c.tg.do(t, http.MethodPost, "/events", []byte(eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a02", "b", `[2, 3.0]`)))
			if got := c.wantAppended(t, r, http.StatusOK, false, 1)[0].Hash; got != want[1] {
				t.Errorf("single retry: got hash %q, want %q", got, want[1])
			}
			c.wantCount(t)
		}},
		{"a batch of one stored and one new event appends only the new one", func(t *testing.T, c *contract) {
			batch := "[" + eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a03", "c", `"three"`) + "," +
				eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a04", "d", `{"four":4}`) + "]"
			n := len(c.evs)
			c.wantAppended(t, c.tg.do(t, http.MethodPost, "/events", []byte(batch)), http.StatusCreated, true, 2)
			if len(c.evs) != n+1 {
				t.Errorf("got %d events, want %d", len(c.evs), n+1)
			}
			c.wantCount(t)
		}},
		{"the same eventId with other content: 409, nothing written", func(t *testing.T, c *contract) {
			c.tg.do(t, http.MethodPost, "/events", []byte(eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01", "a", `{"i":2}`))).
				want(t, http.StatusConflict)
			batch := "[" + eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a05", "e", "5") + "," +
				eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01", "other", `{"i":1}`) + "]"
			c.tg.do(t, http.MethodPost, "/events", []byte(batch)).want(t, http.StatusConflict)
			c.wantCount(t)
		}},
	}
}
