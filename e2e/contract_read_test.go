package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// linkNext matches a Link header's rel="next" target.
var linkNext = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

func readRows() []contractRow {
	return []contractRow{
		{"GET /events is the whole log as a JSON array, a valid chain", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodGet, "/events", nil).want(t, http.StatusOK)
			r.wantContentType(t, "application/json")
			got := eventArray(t, r.body, c.tg.user)
			checkChain(t, got, 1, genesis)
			if !slices.Equal(hashes(got), hashes(c.evs)) {
				t.Errorf("got hashes %q, want %q", hashes(got), hashes(c.evs))
			}
			r.wantHeader(t, "ETag", `"`+c.head()+`"`)
		}},
		{"GET /events with Accept NDJSON is one event a line", func(t *testing.T, c *contract) {
			arr := c.tg.do(t, http.MethodGet, "/events", nil).want(t, http.StatusOK)
			r := c.tg.do(t, http.MethodGet, "/events", nil, header("Accept", "application/x-ndjson")).want(t, http.StatusOK)
			r.wantContentType(t, "application/x-ndjson")
			lines := ndjsonLines(t, r.body)
			var raws []json.RawMessage
			arr.json(t, &raws)
			if len(lines) != len(raws) {
				t.Fatalf("got %d lines, want %d", len(lines), len(raws))
			}
			for i := range lines {
				if !bytes.Equal(lines[i], bytes.TrimSpace(raws[i])) {
					t.Errorf("line %d: got %q, want the array's element %q", i+1, lines[i], raws[i])
				}
				checkEvent(t, lines[i], c.tg.user)
			}
		}},
		{"from and to are inclusive, after is exclusive", func(t *testing.T, c *contract) {
			c.need(t, 5)
			cases := []struct {
				query string
				want  []stored
			}{
				{"?from=" + c.evs[1].Hash + "&to=" + c.evs[3].Hash, c.evs[1:4]},
				{"?after=" + c.evs[1].Hash, c.evs[2:]},
				{"?after=" + c.head(), nil},
				{"?to=" + c.evs[0].Hash, c.evs[:1]},
				{"?from=" + `"` + c.evs[2].Hash + `"`, c.evs[2:]},
			}
			for _, tc := range cases {
				r := c.tg.do(t, http.MethodGet, "/events"+tc.query, nil).want(t, http.StatusOK)
				got := eventArray(t, r.body, c.tg.user)
				if !slices.Equal(hashes(got), hashes(tc.want)) {
					t.Errorf("%s: got %q, want %q", tc.query, hashes(got), hashes(tc.want))
				}
				if len(tc.want) > 0 {
					r.wantHeader(t, "ETag", `"`+tc.want[len(tc.want)-1].Hash+`"`)
				}
			}
		}},
		{"limit pages with Link rel=next through the base", func(t *testing.T, c *contract) {
			var got []stored
			next := "/events?limit=2"
			for pages := 0; next != ""; pages++ {
				if pages > len(c.evs) {
					t.Fatalf("more pages than events: the Link chain does not end")
				}
				r := c.tg.do(t, http.MethodGet, next, nil).want(t, http.StatusOK)
				page := eventArray(t, r.body, c.tg.user)
				if len(page) == 0 || len(page) > 2 {
					t.Fatalf("%s: got %d events, want 1 or 2", next, len(page))
				}
				got = append(got, page...)
				next = ""
				if link := r.header.Get("Link"); link != "" {
					m := linkNext.FindStringSubmatch(link)
					want := c.tg.base + "/events?after=" + page[len(page)-1].Hash + "&limit=2"
					if m == nil || m[1] != want {
						t.Fatalf("got Link %q, want <%s>; rel=\"next\"", link, want)
					}
					next = c.tg.origin + m[1]
				}
			}
			if !slices.Equal(hashes(got), hashes(c.evs)) {
				t.Errorf("pages hold %q, want the log %q", hashes(got), hashes(c.evs))
			}
		}},
		{"unknown hashes are 404, malformed ones and bad parameters 400", func(t *testing.T, c *contract) {
			c.need(t, 1)
			unknown := sha([]byte("not an event"))
			cases := []struct {
				path string
				want int
			}{
				{"/events?from=" + unknown, http.StatusNotFound},
				{"/events?after=" + unknown, http.StatusNotFound},
				{"/events?to=" + unknown, http.StatusNotFound},
				{"/events/" + unknown, http.StatusNotFound},
				{"/events?from=xyz", http.StatusBadRequest},
				{"/events?after=" + unknown[:63], http.StatusBadRequest},
				{"/events/" + unknown[:10], http.StatusBadRequest},
				{"/events?limit=0", http.StatusBadRequest},
				{"/events?limit=many", http.StatusBadRequest},
				{"/events?from=" + c.evs[0].Hash + "&after=" + c.evs[0].Hash, http.StatusBadRequest},
				{"/events?since=1", http.StatusBadRequest},
			}
			for _, tc := range cases {
				if r := c.tg.do(t, http.MethodGet, tc.path, nil); r.status != tc.want {
					t.Errorf("GET %s: got %d, want %d; body %q", tc.path, r.status, tc.want, r.body)
				}
			}
		}},
		{"If-None-Match with the ETag of GET /events is 304 with no body", func(t *testing.T, c *contract) {
			c.need(t, 2)
			r := c.tg.do(t, http.MethodGet, "/events", nil, header("If-None-Match", `"`+c.head()+`"`)).want(t, http.StatusNotModified)
			if len(r.body) != 0 {
				t.Errorf("304 with body %q", r.body)
			}
			r = c.tg.do(t, http.MethodGet, "/events?to="+c.evs[0].Hash, nil, header("If-None-Match", `"`+c.head()+`"`))
			r.want(t, http.StatusOK)
		}},
		{"HEAD /events gives the count and the head", func(t *testing.T, c *contract) {
			c.wantCount(t)
		}},
		{"GET /events/<hash> is one event with its ETag; If-None-Match 304", func(t *testing.T, c *contract) {
			c.need(t, 3)
			want := c.evs[2]
			r := c.tg.do(t, http.MethodGet, "/events/"+want.Hash, nil).want(t, http.StatusOK)
			r.wantContentType(t, "application/json")
			r.wantHeader(t, "ETag", `"`+want.Hash+`"`)
			if got := checkEvent(t, r.body, c.tg.user); got.Hash != want.Hash || got.Seq != want.Seq || !bytes.Equal(got.Body, want.Body) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			c.tg.do(t, http.MethodGet, "/events/"+want.Hash, nil, header("If-None-Match", `"`+want.Hash+`"`)).
				want(t, http.StatusNotModified)
		}},
		{"POST /events/verify checks the chain", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events/verify", nil).want(t, http.StatusOK)
			var v struct {
				Status string `json:"status"`
				Events int    `json:"events"`
				Head   string `json:"head"`
			}
			r.json(t, &v)
			if v.Status != "ok" || v.Events != len(c.evs) || v.Head != c.head() {
				t.Errorf("got %+v, want ok, %d events, head %s", v, len(c.evs), c.head())
			}
		}},
	}
}

func inputRows() []contractRow {
	big := bytes.Repeat([]byte("a"), 70<<10) // over eventBytes (64 KiB), under requestBytes
	huge := bytes.Repeat([]byte("b"), 3<<19) // 1.5 MiB: over requestBytes (1 MiB)
	var batch bytes.Buffer
	batch.WriteString("[")
	for i := range 101 { // over batchEvents (100)
		if i > 0 {
			batch.WriteString(",")
		}
		batch.WriteString(event("n", strconv.Itoa(i)))
	}
	batch.WriteString("]")
	cases := []struct {
		name string
		body []byte
		want int
	}{
		{"bad JSON", []byte(`{"eventType":"x","body":`), http.StatusBadRequest},
		{"trailing data", []byte(event("x", "1") + "{}"), http.StatusBadRequest},
		{"invalid UTF-8", []byte("{\"eventType\":\"x\",\"body\":\"\xff\xfe\"}"), http.StatusBadRequest},
		{"duplicate keys", []byte(`{"eventType":"x","body":{"a":1,"a":2}}`), http.StatusBadRequest},
		{"duplicate top-level keys", []byte(`{"eventType":"x","eventType":"y","body":1}`), http.StatusBadRequest},
		{"integer beyond 2^53", []byte(event("x", "9007199254740993")), http.StatusBadRequest},
		{"lone surrogate", []byte(event("x", `"\ud800"`)), http.StatusBadRequest},
		{"empty eventType", []byte(event("", "1")), http.StatusBadRequest},
		{"no body member", []byte(`{"eventType":"x"}`), http.StatusBadRequest},
		{"malformed eventId", []byte(eventWithID("not-a-uuid", "x", "1")), http.StatusBadRequest},
		{"an unknown member", []byte(`{"eventType":"x","body":1,"extra":2}`), http.StatusBadRequest},
		{"empty batch", []byte(`[]`), http.StatusBadRequest},
		{"one eventId twice in a batch", []byte("[" + eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1aff", "x", "1") + "," +
			eventWithID("0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1aff", "x", "1") + "]"), http.StatusBadRequest},
		{"an event over eventBytes", []byte(event("x", `"`+string(big)+`"`)), http.StatusRequestEntityTooLarge},
		{"a request over requestBytes", []byte(event("x", `"`+string(huge)+`"`)), http.StatusRequestEntityTooLarge},
		{"a batch over batchEvents", batch.Bytes(), http.StatusRequestEntityTooLarge},
	}
	rows := make([]contractRow, 0, len(cases))
	for _, tc := range cases {
		rows = append(rows, contractRow{"append refuses " + tc.name + " and writes nothing", func(t *testing.T, c *contract) {
			if r := c.tg.do(t, http.MethodPost, "/events", tc.body); r.status != tc.want {
				t.Errorf("got status %d, want %d; body %q", r.status, tc.want, truncate(r.body))
			}
			c.wantCount(t)
		}})
	}
	return rows
}
