package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// streamEvent is a stored event of a stream as a client sees it.
type streamEvent struct {
	stored
	Stream    string `json:"stream"`
	StreamSeq uint64 `json:"streamSeq"`
}

// streamRows walk the README's Streams section. They keep their own view
// of the streams they wrote (per table, so per transport).
func streamRows() []contractRow {
	byStream := map[string][]streamEvent{}
	var inLog []streamEvent // every event these rows wrote, in log order

	// post appends body and checks the answer; it records new events.
	post := func(t *testing.T, c *contract, body string, status int, opts ...reqOpt) []streamEvent {
		t.Helper()
		r := c.tg.do(t, http.MethodPost, "/events", []byte(body), opts...).want(t, status)
		var raws []json.RawMessage
		if strings.HasPrefix(strings.TrimSpace(string(r.body)), "[") {
			r.json(t, &raws)
		} else {
			raws = []json.RawMessage{r.body}
		}
		var evs []streamEvent
		for _, raw := range raws {
			e := checkStreamEvent(t, raw, c.tg.user)
			evs = append(evs, e)
			if e.Seq == uint64(len(c.evs))+1 {
				c.evs = append(c.evs, e.stored)
				inLog = append(inLog, e)
				if e.Stream != "" {
					byStream[e.Stream] = append(byStream[e.Stream], e)
				}
			}
		}
		r.wantHeader(t, "ETag", `"`+evs[len(evs)-1].Hash+`"`)
		return evs
	}
	// read GETs path and decodes the array of stream events.
	read := func(t *testing.T, c *contract, path string, opts ...reqOpt) ([]streamEvent, *reply) {
		t.Helper()
		r := c.tg.do(t, http.MethodGet, path, nil, opts...).want(t, http.StatusOK)
		var raws []json.RawMessage
		r.json(t, &raws)
		evs := make([]streamEvent, len(raws))
		for i, raw := range raws {
			evs[i] = checkStreamEvent(t, raw, c.tg.user)
		}
		return evs, r
	}
	// below returns the events of s and the streams below it, in log order.
	below := func(s string) []string {
		var hs []string
		for _, e := range inLog {
			if e.Stream == s || strings.HasPrefix(e.Stream, s+"/") {
				hs = append(hs, e.Hash)
			}
		}
		return hs
	}
	hashesOf := func(evs []streamEvent) []string {
		hs := make([]string, len(evs))
		for i, e := range evs {
			hs[i] = e.Hash
		}
		return hs
	}
	ev := func(stream string, expected int, body string) string {
		s := `{"eventType":"todo.added","body":` + body + `,"stream":"` + stream + `"`
		if expected >= 0 {
			s += `,"expectedVersion":` + strconv.Itoa(expected)
		}
		return s + "}"
	}

	return []contractRow{
		{"an event of a stream is stored with stream and streamSeq, covered by the hash", func(t *testing.T, c *contract) {
			evs := post(t, c, "["+ev("/todos/alice", -1, `{"title":"milk"}`)+","+ev("/todos/bob", -1, `1`)+","+
				ev("/todos/alice", -1, `2`)+","+event("plain", `3`)+"]", http.StatusCreated)
			want := []struct {
				stream string
				seq    uint64
			}{{"/todos/alice", 1}, {"/todos/bob", 1}, {"/todos/alice", 2}, {"", 0}}
			for i, e := range evs {
				if e.Stream != want[i].stream || e.StreamSeq != want[i].seq {
					t.Errorf("event %d: stream %q streamSeq %d, want %q %d", i+1, e.Stream, e.StreamSeq, want[i].stream, want[i].seq)
				}
			}
		}},
		{"a bad stream or expectedVersion is 400 and stores nothing", func(t *testing.T, c *contract) {
			long := "/" + strings.Repeat("a", 64) + "/" + strings.Repeat("b", 64) + "/" + strings.Repeat("c", 64) + "/" + strings.Repeat("d", 64)
			bad := []struct{ body, says string }{
				{`{"eventType":"t","body":1,"stream":"orders"}`, "must start with '/'"},
				{`{"eventType":"t","body":1,"stream":"/orders/"}`, "must not end with '/'"},
				{`{"eventType":"t","body":1,"stream":"/a//b"}`, "empty segment"},
				{`{"eventType":"t","body":1,"stream":"/a/./b"}`, `segment "."`},
				{`{"eventType":"t","body":1,"stream":"/a/.."}`, `segment ".."`},
				{`{"eventType":"t","body":1,"stream":"/"}`, "no segment"},
				{`{"eventType":"t","body":1,"stream":"/1/2/3/4/5/6/7/8/9"}`, "9 segments"},
				{`{"eventType":"t","body":1,"stream":"` + long + `"}`, "over the limit of 256"},
				{`{"eventType":"t","body":1,"stream":"/` + strings.Repeat("x", 65) + `"}`, "65 characters"},
				{`{"eventType":"t","body":1,"stream":"/a b"}`, "' '"},
				{`{"eventType":"t","body":1,"stream":"/caf\u00e9"}`, "use only"},
				{`{"eventType":"t","body":1,"stream":42}`, "must be a string"},
				{`{"eventType":"t","body":1,"expectedVersion":0}`, `needs a "stream"`},
				{`{"eventType":"t","body":1,"stream":"/a","expectedVersion":-1}`, "whole number"},
				{`{"eventType":"t","body":1,"stream":"/a","expectedVersion":1.5}`, "whole number"},
				{`{"eventType":"t","body":1,"stream":"/a","expectedVersion":"3"}`, "whole number"},
			}
			for _, b := range bad {
				r := c.tg.do(t, http.MethodPost, "/events", []byte(b.body)).want(t, http.StatusBadRequest)
				var e struct{ ErrorMessage string }
				r.json(t, &e)
				if !strings.Contains(e.ErrorMessage, b.says) {
					t.Errorf("%s: message %q does not say %q", b.body, e.ErrorMessage, b.says)
				}
			}
			c.wantCount(t)
		}},
		{"a stale expectedVersion is 412 naming the stream and its version; nothing is written", func(t *testing.T, c *contract) {
			cases := []struct {
				body    string
				stream  string
				current uint64
			}{
				{ev("/todos/alice", 1, `"x"`), "/todos/alice", 2},
				{ev("/todos/bob", 0, `"x"`), "/todos/bob", 1},
				{"[" + ev("/todos/alice", 2, `"x"`) + "," + ev("/todos/alice", 2, `"y"`) + "]", "/todos/alice", 3},
			}
			for _, tc := range cases {
				r := c.tg.do(t, http.MethodPost, "/events", []byte(tc.body)).want(t, http.StatusPreconditionFailed)
				var e struct {
					Status         string  `json:"status"`
					ErrorMessage   string  `json:"errorMessage"`
					Stream         string  `json:"stream"`
					CurrentVersion *uint64 `json:"currentVersion"`
				}
				r.json(t, &e)
				if e.Status != "error" || e.ErrorMessage == "" || e.Stream != tc.stream || e.CurrentVersion == nil || *e.CurrentVersion != tc.current {
					t.Errorf("%s: body %s, want stream %s currentVersion %d", tc.body, r.body, tc.stream, tc.current)
				}
				c.wantCount(t)
			}
			evs := post(t, c, "["+ev("/todos/alice", 2, `"x"`)+","+ev("/todos/alice", 3, `"y"`)+","+ev("/todos/carol", 0, `"z"`)+"]", http.StatusCreated)
			if evs[1].StreamSeq != 4 || evs[2].StreamSeq != 1 {
				t.Errorf("streamSeqs %d, %d; want 4, 1", evs[1].StreamSeq, evs[2].StreamSeq)
			}
		}},
		{"If-Match and expectedVersion are checked together; a retry answers 200 first", func(t *testing.T, c *contract) {
			c.tg.do(t, http.MethodPost, "/events", []byte(ev("/todos/bob", 1, `"b"`)), header("If-Match", `"`+genesis+`"`)).
				want(t, http.StatusPreconditionFailed)
			c.wantCount(t)
			body := `{"eventId":"6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a99","eventType":"todo.added","body":"b","stream":"/todos/bob","expectedVersion":1}`
			first := post(t, c, body, http.StatusCreated, header("If-Match", `"`+c.head()+`"`))
			again := post(t, c, body, http.StatusOK, header("If-Match", `"`+genesis+`"`))
			if again[0].Hash != first[0].Hash || again[0].StreamSeq != 2 {
				t.Errorf("retry: got %s streamSeq %d, want the stored %s", again[0].Hash, again[0].StreamSeq, first[0].Hash)
			}
		}},
		{"GET /events?stream= reads one stream in log order, as array and NDJSON", func(t *testing.T, c *contract) {
			got, r := read(t, c, "/events?stream=/todos/alice")
			if want := hashesOf(byStream["/todos/alice"]); !slices.Equal(hashesOf(got), want) {
				t.Fatalf("got %q, want %q", hashesOf(got), want)
			}
			for i, e := range got {
				if e.StreamSeq != uint64(i+1) {
					t.Errorf("event %d has streamSeq %d", i+1, e.StreamSeq)
				}
			}
			etag := `"` + got[len(got)-1].Hash + `"`
			r.wantHeader(t, "ETag", etag)
			c.tg.do(t, http.MethodGet, "/events?stream=/todos/alice", nil, header("If-None-Match", etag)).want(t, http.StatusNotModified)
			nd := c.tg.do(t, http.MethodGet, "/events?stream=/todos/alice", nil, header("Accept", "application/x-ndjson")).want(t, http.StatusOK)
			nd.wantContentType(t, "application/x-ndjson")
			if lines := ndjsonLines(t, nd.body); len(lines) != len(got) {
				t.Errorf("NDJSON has %d lines, want %d", len(lines), len(got))
			}
			empty, _ := read(t, c, "/events?stream=/nobody/here")
			if len(empty) != 0 {
				t.Errorf("a stream without events read %d events", len(empty))
			}
		}},
		{"from, after, to and limit page a stream; the Link keeps stream and recursive", func(t *testing.T, c *contract) {
			all := byStream["/todos/alice"]
			if len(all) < 4 {
				t.Fatalf("want 4 events of /todos/alice from the rows before, have %d", len(all))
			}
			cases := []struct {
				query string
				want  []streamEvent
			}{
				{"&from=" + all[1].Hash, all[1:]},
				{"&after=" + all[1].Hash, all[2:]},
				{"&to=" + all[2].Hash, all[:3]},
				{"&after=" + all[0].Hash + "&to=" + all[2].Hash, all[1:3]},
				{"&after=" + all[len(all)-1].Hash, nil},
			}
			for _, tc := range cases {
				got, _ := read(t, c, "/events?stream=/todos/alice"+tc.query)
				if !slices.Equal(hashesOf(got), hashesOf(tc.want)) {
					t.Errorf("%s: got %q, want %q", tc.query, hashesOf(got), hashesOf(tc.want))
				}
			}
			for _, rec := range []string{"", "&recursive=true"} {
				var got []streamEvent
				next := "/events?stream=/todos&limit=2" + rec
				if rec == "" {
					next = "/events?stream=/todos/alice&limit=2"
				}
				for pages := 0; next != ""; pages++ {
					if pages > 20 {
						t.Fatal("more than 20 pages")
					}
					page, r := read(t, c, next)
					got = append(got, page...)
					next = ""
					if link := r.header.Get("Link"); link != "" {
						m := linkNext.FindStringSubmatch(link)
						if m == nil {
							t.Fatalf("Link %q", link)
						}
						u, err := url.Parse(m[1])
						if err != nil {
							t.Fatal(err)
						}
						q := u.Query()
						if q.Get("stream") == "" || q.Get("after") != page[len(page)-1].Hash || q.Get("limit") != "2" ||
							(rec != "") != (q.Get("recursive") == "true") {
							t.Fatalf("Link %q does not keep stream, recursive and limit", link)
						}
						next = c.tg.origin + m[1]
					}
				}
				want := below("/todos")
				if rec == "" {
					want = hashesOf(byStream["/todos/alice"])
				}
				if !slices.Equal(hashesOf(got), want) {
					t.Errorf("pages%s hold %q, want %q", rec, hashesOf(got), want)
				}
			}
		}},
		{"recursive=true reads a stream and those below it, never a sibling sharing its letters", func(t *testing.T, c *contract) {
			post(t, c, "["+ev("/todos2", -1, `1`)+","+ev("/todos/alice/lists", -1, `2`)+","+ev("/todos", -1, `3`)+"]", http.StatusCreated)
			got, _ := read(t, c, "/events?stream=/todos&recursive=true")
			if want := below("/todos"); !slices.Equal(hashesOf(got), want) {
				t.Errorf("got %q, want %q", hashesOf(got), want)
			}
			for _, e := range got {
				if e.Stream == "/todos2" {
					t.Errorf("/todos2 read under /todos")
				}
			}
			got, _ = read(t, c, "/events?stream=/todos/alice&recursive=true")
			if want := below("/todos/alice"); !slices.Equal(hashesOf(got), want) {
				t.Errorf("/todos/alice recursive: got %q, want %q", hashesOf(got), want)
			}
		}},
		{"HEAD /events?stream= counts the stream's version; a stream without events is 0, not 404", func(t *testing.T, c *contract) {
			alice := byStream["/todos/alice"]
			r := c.tg.do(t, http.MethodHead, "/events?stream=/todos/alice", nil).want(t, http.StatusOK)
			r.wantHeader(t, "X-Apie-Count", strconv.Itoa(len(alice)))
			r.wantHeader(t, "ETag", `"`+alice[len(alice)-1].Hash+`"`)
			r.wantHeader(t, "X-Apie-Hash", alice[len(alice)-1].Hash)
			r = c.tg.do(t, http.MethodHead, "/events?stream=/nobody", nil).want(t, http.StatusOK)
			r.wantHeader(t, "X-Apie-Count", "0")
			r.wantNoHeader(t, "ETag")
		}},
		{"GET /streams lists streams by name under a prefix, paged with Link", func(t *testing.T, c *contract) {
			var names []string
			for s := range byStream {
				if s == "/todos" || strings.HasPrefix(s, "/todos/") {
					names = append(names, s)
				}
			}
			slices.Sort(names)
			var got []string
			next := "/streams?prefix=/todos&limit=2"
			for pages := 0; next != ""; pages++ {
				if pages > 20 {
					t.Fatal("more than 20 pages")
				}
				r := c.tg.do(t, http.MethodGet, next, nil).want(t, http.StatusOK)
				r.wantContentType(t, "application/json")
				var page []struct {
					Stream  string `json:"stream"`
					Version uint64 `json:"version"`
					First   string `json:"first"`
					Last    string `json:"last"`
				}
				r.json(t, &page)
				for _, s := range page {
					evs := byStream[s.Stream]
					if len(evs) == 0 || s.Version != uint64(len(evs)) || s.First != evs[0].Hash || s.Last != evs[len(evs)-1].Hash {
						t.Errorf("%+v does not match what was written", s)
					}
					got = append(got, s.Stream)
				}
				next = ""
				if link := r.header.Get("Link"); link != "" {
					m := linkNext.FindStringSubmatch(link)
					if m == nil {
						t.Fatalf("Link %q", link)
					}
					next = c.tg.origin + m[1]
				}
			}
			if !slices.Equal(got, names) {
				t.Errorf("listed %q, want %q", got, names)
			}
		}},
		{"bad stream read parameters are 400", func(t *testing.T, c *contract) {
			for _, q := range []string{"/events?stream=todos", "/events?stream=/todos&recursive=yes", "/events?stream=/todos&color=red",
				"/events?stream=/a/../b", "/streams?prefix=todos", "/streams?limit=0", "/streams?color=red", "/events?stream=/todos&limit=0"} {
				c.tg.do(t, http.MethodGet, q, nil).want(t, http.StatusBadRequest)
			}
			c.tg.do(t, http.MethodGet, "/events?stream=/todos&after="+strings.Repeat("0", 64), nil).want(t, http.StatusNotFound)
		}},
		{"POST /events/verify passes with streams", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/events/verify", nil).want(t, http.StatusOK)
			var v struct {
				Events int `json:"events"`
			}
			r.json(t, &v)
			if v.Events != len(c.evs) {
				t.Errorf("verify counted %d events, want %d", v.Events, len(c.evs))
			}
		}},
	}
}

// checkStreamEvent checks a stored event as checkEvent does, allowing the
// stream members (both or neither) and taking the hash over every member
// but hash, body and bodySalt.
func checkStreamEvent(t testing.TB, raw []byte, user string) streamEvent {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("event %q: %v", truncate(raw), err)
	}
	_, hasStream := m["stream"]
	_, hasSeq := m["streamSeq"]
	if hasStream != hasSeq {
		t.Errorf("event %q has one of stream and streamSeq", truncate(raw))
	}
	var e streamEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("event %q: %v", truncate(raw), err)
	}
	plain := map[string]json.RawMessage{}
	for k, v := range m {
		if k != "stream" && k != "streamSeq" {
			plain[k] = v
		}
	}
	if !hasStream {
		checkEvent(t, raw, user)
	} else {
		// The members but the stream's are checked as for any event; the
		// hash must cover the stream's too.
		var keys []string
		for k := range plain {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, eventKeys) {
			t.Errorf("event members besides stream: got %q, want %q", keys, eventKeys)
		}
		if _, salted := m["bodySalt"]; !salted {
			if got, want := e.BodyHash, jcsHash(t, m["body"]); got != want {
				t.Errorf("seq %d: bodyHash %q, want SHA-256(JCS(body)) %q", e.Seq, got, want)
			}
		}
		delete(m, "hash")
		delete(m, "body")
		delete(m, "bodySalt")
		rest, _ := json.Marshal(m)
		if got, want := e.Hash, jcsHash(t, rest); got != want {
			t.Errorf("seq %d: hash %q, want SHA-256(JCS(event without hash and body)) %q", e.Seq, got, want)
		}
		if e.StreamSeq == 0 {
			t.Errorf("seq %d: streamSeq 0", e.Seq)
		}
		if user != "" && e.CreatedBy != user {
			t.Errorf("seq %d: createdBy %q", e.Seq, e.CreatedBy)
		}
	}
	return e
}
