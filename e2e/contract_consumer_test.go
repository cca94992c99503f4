package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// consumerJSON is a consumer as the API shows it.
type consumerJSON struct {
	Name      string  `json:"name"`
	After     *string `json:"after"`
	Seq       uint64  `json:"seq"`
	Lag       uint64  `json:"lag"`
	UpdatedAt string  `json:"updatedAt"`
	UpdatedBy string  `json:"updatedBy"`
}

// consumerErr is the body of a 412 or 409 about a consumer.
type consumerErr struct {
	Status string  `json:"status"`
	Name   string  `json:"name"`
	Exists bool    `json:"exists"`
	After  *string `json:"after"`
	Seq    uint64  `json:"seq"`
}

// move is a PUT /consumers/<name> body: after is a hash or "null".
func move(after string, force bool) []byte {
	if after != "null" {
		after = `"` + after + `"`
	}
	return []byte(fmt.Sprintf(`{"after":%s,"force":%v}`, after, force))
}

// wantConsumer checks a consumer's JSON against the log the rows know:
// its position is after the first seq events.
func (c *contract) wantConsumer(t *testing.T, r *reply, name string, seq int) consumerJSON {
	t.Helper()
	r.wantContentType(t, "application/json")
	var got consumerJSON
	r.json(t, &got)
	c.checkConsumer(t, got, name, seq)
	wantTag := genesis
	if seq > 0 {
		wantTag = c.evs[seq-1].Hash
	}
	r.wantHeader(t, "ETag", `"`+wantTag+`"`)
	return got
}

func (c *contract) checkConsumer(t *testing.T, got consumerJSON, name string, seq int) {
	t.Helper()
	if got.Name != name || got.Seq != uint64(seq) || got.Lag != uint64(len(c.evs)-seq) || got.UpdatedBy != c.tg.user {
		t.Errorf("got %+v, want %s at seq %d with lag %d by %s", got, name, seq, len(c.evs)-seq, c.tg.user)
	}
	switch {
	case seq == 0 && got.After != nil:
		t.Errorf("%s: got after %q, want null before the first event", name, *got.After)
	case seq > 0 && (got.After == nil || *got.After != c.evs[seq-1].Hash):
		t.Errorf("%s: got after %v, want %s", name, got.After, c.evs[seq-1].Hash)
	}
	if _, err := time.Parse(time.RFC3339Nano, got.UpdatedAt); err != nil || !strings.HasSuffix(got.UpdatedAt, "Z") {
		t.Errorf("%s: updatedAt %q is not RFC 3339 UTC", name, got.UpdatedAt)
	}
}

func consumerRows() []contractRow {
	return []contractRow{
		{"PUT /consumers/<name> creates a consumer (201), null is before the first event", func(t *testing.T, c *contract) {
			c.need(t, 4)
			r := c.tg.do(t, http.MethodPut, "/consumers/worker-1", move("null", false)).want(t, http.StatusCreated)
			c.wantConsumer(t, r, "worker-1", 0)
			r = c.tg.do(t, http.MethodGet, "/consumers/worker-1", nil).want(t, http.StatusOK)
			c.wantConsumer(t, r, "worker-1", 0)
		}},
		{"a consumer moves forward (200); backward only with force, else 409 with its position", func(t *testing.T, c *contract) {
			c.need(t, 4)
			r := c.tg.do(t, http.MethodPut, "/consumers/worker-1", move(c.evs[2].Hash, false)).want(t, http.StatusOK)
			c.wantConsumer(t, r, "worker-1", 3)
			r = c.tg.do(t, http.MethodPut, "/consumers/worker-1", move(c.evs[0].Hash, false)).want(t, http.StatusConflict)
			var e consumerErr
			r.json(t, &e)
			if !e.Exists || e.Seq != 3 || e.After == nil || *e.After != c.evs[2].Hash {
				t.Errorf("409 body %s: want the position, seq 3", r.body)
			}
			r = c.tg.do(t, http.MethodPut, "/consumers/worker-1", move(c.evs[0].Hash, true)).want(t, http.StatusOK)
			c.wantConsumer(t, r, "worker-1", 1)
			r = c.tg.do(t, http.MethodGet, "/consumers/worker-1", nil).want(t, http.StatusOK)
			c.wantConsumer(t, r, "worker-1", 1)
		}},
		{"If-Match makes a move a compare-and-swap: 412 with the current position", func(t *testing.T, c *contract) {
			c.need(t, 4)
			r := c.tg.do(t, http.MethodPut, "/consumers/worker-1", move(c.evs[1].Hash, false),
				header("If-Match", `"`+c.evs[0].Hash+`"`)).want(t, http.StatusOK)
			c.wantConsumer(t, r, "worker-1", 2)
			// The same swap again: the position is no longer evs[0].
			r = c.tg.do(t, http.MethodPut, "/consumers/worker-1", move(c.evs[3].Hash, false),
				header("If-Match", `"`+c.evs[0].Hash+`"`)).want(t, http.StatusPreconditionFailed)
			var e consumerErr
			r.json(t, &e)
			if !e.Exists || e.Seq != 2 || e.After == nil || *e.After != c.evs[1].Hash {
				t.Errorf("412 body %s: want the current position, seq 2", r.body)
			}
			r.wantHeader(t, "ETag", `"`+c.evs[1].Hash+`"`)
			// The genesis hash names the position before the first event.
			c.tg.do(t, http.MethodPut, "/consumers/worker-2", move("null", false)).want(t, http.StatusCreated)
			r = c.tg.do(t, http.MethodPut, "/consumers/worker-2", move(c.evs[0].Hash, false),
				header("If-Match", `"`+genesis+`"`)).want(t, http.StatusOK)
			c.wantConsumer(t, r, "worker-2", 1)
			// If-None-Match: * creates only; If-Match on a missing consumer fails.
			c.tg.do(t, http.MethodPut, "/consumers/worker-2", move("null", false),
				header("If-None-Match", "*")).want(t, http.StatusPreconditionFailed)
			r = c.tg.do(t, http.MethodPut, "/consumers/nobody", move(c.evs[0].Hash, false),
				header("If-Match", `"`+genesis+`"`)).want(t, http.StatusPreconditionFailed)
			e = consumerErr{}
			r.json(t, &e)
			if e.Exists {
				t.Errorf("412 for a missing consumer: body %s says it exists", r.body)
			}
			c.tg.do(t, http.MethodGet, "/consumers/nobody", nil).want(t, http.StatusNotFound)
		}},
		{"GET /events?consumer= reads after the position and pages like after=", func(t *testing.T, c *contract) {
			c.need(t, 4)
			// worker-1 is after evs[1].
			r := c.tg.do(t, http.MethodGet, "/events?consumer=worker-1", nil).want(t, http.StatusOK)
			if got := eventArray(t, r.body, c.tg.user); !slices.Equal(hashes(got), hashes(c.evs[2:])) {
				t.Errorf("got %q, want %q", hashes(got), hashes(c.evs[2:]))
			}
			r = c.tg.do(t, http.MethodGet, "/events?consumer=worker-1&limit=1", nil).want(t, http.StatusOK)
			if got := eventArray(t, r.body, c.tg.user); !slices.Equal(hashes(got), hashes(c.evs[2:3])) {
				t.Errorf("limit=1: got %q, want %q", hashes(got), hashes(c.evs[2:3]))
			}
			want := c.tg.base + "/events?after=" + c.evs[2].Hash + "&limit=1"
			if m := linkNext.FindStringSubmatch(r.header.Get("Link")); m == nil || m[1] != want {
				t.Errorf("Link: got %q, want <%s>", r.header.Get("Link"), want)
			}
			c.tg.do(t, http.MethodPut, "/consumers/at-start", move("null", false)).want(t, http.StatusCreated)
			r = c.tg.do(t, http.MethodGet, "/events?consumer=at-start", nil, header("Accept", "application/x-ndjson")).want(t, http.StatusOK)
			if n := len(ndjsonLines(t, r.body)); n != len(c.evs) {
				t.Errorf("a consumer before the first event: got %d events, want the whole log, %d", n, len(c.evs))
			}
			c.tg.do(t, http.MethodGet, "/events?consumer=nobody", nil).want(t, http.StatusNotFound)
			c.tg.do(t, http.MethodGet, "/events?consumer=worker-1&after="+c.evs[0].Hash, nil).want(t, http.StatusBadRequest)
			c.tg.do(t, http.MethodGet, "/events?consumer=a%20b", nil).want(t, http.StatusBadRequest)
		}},
		{"GET /consumers lists every consumer by name, with lag", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodGet, "/consumers", nil).want(t, http.StatusOK)
			r.wantContentType(t, "application/json")
			var got []consumerJSON
			r.json(t, &got)
			var names []string
			for _, g := range got {
				names = append(names, g.Name)
			}
			if want := []string{"at-start", "worker-1", "worker-2"}; !slices.Equal(names, want) {
				t.Fatalf("got %q, want %q", names, want)
			}
			c.checkConsumer(t, got[0], "at-start", 0)
			c.checkConsumer(t, got[1], "worker-1", 2)
			c.checkConsumer(t, got[2], "worker-2", 1)
		}},
		{"bad consumer names and move bodies are 400, big ones 413, unknown events 404", func(t *testing.T, c *contract) {
			c.need(t, 1)
			long := strings.Repeat("n", 129)
			for _, name := range []string{long, "a%20b", "caf%C3%A9", "a:b", "a%2Ab"} {
				c.tg.do(t, http.MethodPut, "/consumers/"+name, move("null", false)).want(t, http.StatusBadRequest)
				c.tg.do(t, http.MethodGet, "/consumers/"+name, nil).want(t, http.StatusBadRequest)
			}
			c.tg.do(t, http.MethodPut, "/consumers/"+long[:128], move("null", false)).want(t, http.StatusCreated)
			c.tg.do(t, http.MethodDelete, "/consumers/"+long[:128], nil).want(t, http.StatusOK)
			for _, body := range []string{`{}`, `{"force":true}`, `{"after":null,"x":1}`, `{"after":1}`, `{"after":"zz"}`,
				`{"after":null,"after":null}`, `[]`, `{"after":null}{}`, `{"after":null,"force":"yes"}`, `null`,
				`{"after":"` + strings.ToUpper(c.evs[0].Hash) + `x"}`} {
				r := c.tg.do(t, http.MethodPut, "/consumers/worker-1", []byte(body))
				if r.status != http.StatusBadRequest {
					t.Errorf("body %q: got %d, want 400; %s", body, r.status, r.body)
				}
			}
			big := []byte(`{"after":null,"force":false` + strings.Repeat(" ", 8<<10) + `}`)
			c.tg.do(t, http.MethodPut, "/consumers/worker-1", big).want(t, http.StatusRequestEntityTooLarge)
			c.tg.do(t, http.MethodPut, "/consumers/worker-1", move(sha([]byte("no such event")), false)).want(t, http.StatusNotFound)
			// None of it moved worker-1.
			r := c.tg.do(t, http.MethodGet, "/consumers/worker-1", nil).want(t, http.StatusOK)
			c.wantConsumer(t, r, "worker-1", 2)
		}},
		{"DELETE /consumers/<name> is 200, then 404; other methods 405", func(t *testing.T, c *contract) {
			c.tg.do(t, http.MethodDelete, "/consumers/at-start", nil).want(t, http.StatusOK)
			c.tg.do(t, http.MethodDelete, "/consumers/at-start", nil).want(t, http.StatusNotFound)
			c.tg.do(t, http.MethodGet, "/consumers/at-start", nil).want(t, http.StatusNotFound)
			r := c.tg.do(t, http.MethodPost, "/consumers/worker-1", move("null", false)).want(t, http.StatusMethodNotAllowed)
			r.wantHeader(t, "Allow", "GET, HEAD, PUT, DELETE")
			r = c.tg.do(t, http.MethodPost, "/consumers", nil).want(t, http.StatusMethodNotAllowed)
			r.wantHeader(t, "Allow", "GET, HEAD")
			c.tg.do(t, http.MethodGet, "/consumers/worker-1", nil, noAuth()).want(t, http.StatusUnauthorized)
		}},
	}
}
