package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"apie/client"
)

// appendN appends n events one request each and returns them.
func appendN(t *testing.T, c *client.Client, n int) []client.Event {
	t.Helper()
	var evs []client.Event
	for i := range n {
		a, err := c.Append(t.Context(), []client.NewEvent{{EventType: "n", Body: fmt.Appendf(nil, `{"i":%d}`, i)}}, client.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, a.Events...)
	}
	return evs
}

func hashes(evs []client.Event) []string {
	var hs []string
	for _, e := range evs {
		hs = append(hs, e.Hash)
	}
	return hs
}

// TestRead: Read follows Link rel="next" through every page, each page
// within the limit, and the parameters choose the slice.
func TestRead(t *testing.T) {
	c, _ := start(t, nil)
	ctx := t.Context()
	if evs, err := c.ReadAll(ctx, client.ReadParams{}); err != nil || len(evs) != 0 {
		t.Fatalf("empty log: got %d events, %v; want none", len(evs), err)
	}
	log := appendN(t, c, 5)
	cases := []struct {
		name      string
		p         client.ReadParams
		want      []client.Event
		wantPages int
	}{
		{"all", client.ReadParams{}, log, 1},
		{"limit 2", client.ReadParams{Limit: 2}, log, 3},
		{"limit 5", client.ReadParams{Limit: 5}, log, 1},
		{"limit 1 after the second", client.ReadParams{After: log[1].Hash, Limit: 1}, log[2:], 3},
		{"from the second to the fourth", client.ReadParams{From: log[1].Hash, To: log[3].Hash}, log[1:4], 1},
		{"from the second to the fourth, limit 2", client.ReadParams{From: log[1].Hash, To: log[3].Hash, Limit: 2}, log[1:4], 2},
		{"after the head", client.ReadParams{After: log[4].Hash}, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []client.Event
			pages := 0
			for page, err := range c.Read(ctx, tc.p) {
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if tc.p.Limit > 0 && len(page.Events) > tc.p.Limit {
					t.Errorf("page %d holds %d events, over the limit %d", pages, len(page.Events), tc.p.Limit)
				}
				if (page.Next == "") != (pages == tc.wantPages) {
					t.Errorf("page %d: Next %q, want one on every page but the last (%d)", pages, page.Next, tc.wantPages)
				}
				got = append(got, page.Events...)
			}
			if pages != tc.wantPages {
				t.Errorf("got %d pages, want %d", pages, tc.wantPages)
			}
			if !slices.Equal(hashes(got), hashes(tc.want)) {
				t.Errorf("got %q, want %q", hashes(got), hashes(tc.want))
			}
			for i, e := range got {
				if e.Seq != tc.want[i].Seq || string(e.Raw) != string(tc.want[i].Raw) {
					t.Errorf("event %d: got %s, want %s as appended", i, e.Raw, tc.want[i].Raw)
				}
			}
		})
	}
}

// TestReadStopsEarly: breaking out of the loop fetches no more pages.
func TestReadStopsEarly(t *testing.T) {
	var gets int
	f := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && r.URL.Path == "/events" {
				gets++
			}
			next.ServeHTTP(w, r)
		})
	}
	c, _ := start(t, f)
	appendN(t, c, 3)
	for page, err := range c.Read(t.Context(), client.ReadParams{Limit: 1}) {
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("got %d events, %v", len(page.Events), err)
		}
		break
	}
	if gets != 1 {
		t.Errorf("got %d GET /events, want 1", gets)
	}
}

// TestReadErrors: an unknown hash is a 404 *Error and a malformed one a
// 400, yielded once.
func TestReadErrors(t *testing.T) {
	c, _ := start(t, nil)
	log := appendN(t, c, 1)
	unknown := log[0].BodyHash // a well-formed hash of no event
	cases := []struct {
		name   string
		p      client.ReadParams
		status int
	}{
		{"unknown from", client.ReadParams{From: unknown}, http.StatusNotFound},
		{"unknown after", client.ReadParams{After: unknown}, http.StatusNotFound},
		{"malformed to", client.ReadParams{To: "abc"}, http.StatusBadRequest},
		{"from and after", client.ReadParams{From: log[0].Hash, After: log[0].Hash}, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for _, err := range c.Read(t.Context(), tc.p) {
				n++
				if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != tc.status {
					t.Errorf("got %v, want a %d *client.Error", err, tc.status)
				}
			}
			if n != 1 {
				t.Errorf("got %d yields, want 1", n)
			}
		})
	}
}

// TestHeadAndEvent: Head counts the log and names its head; Event finds
// one event by hash, and a 404 for a hash not in the log.
func TestHeadAndEvent(t *testing.T) {
	c, _ := start(t, nil)
	ctx := t.Context()
	if h, err := c.Head(ctx); err != nil || h != (client.HeadInfo{}) {
		t.Errorf("empty log: got %+v, %v; want no hash and 0", h, err)
	}
	log := appendN(t, c, 3)
	if h, err := c.Head(ctx); err != nil || h.Hash != log[2].Hash || h.Count != 3 {
		t.Errorf("got %+v, %v; want %s and 3", h, err, log[2].Hash)
	}
	e, err := c.Event(ctx, log[1].Hash)
	if err != nil || string(e.Raw) != string(log[1].Raw) || e.Seq != 2 || e.CreatedBy != user {
		t.Errorf("got %+v, %v; want %s", e, err, log[1].Raw)
	}
	if _, err := c.Event(ctx, log[1].BodyHash); !isStatus(err, http.StatusNotFound) {
		t.Errorf("unknown hash: got %v, want 404", err)
	}
	r, err := c.VerifyEvents(ctx)
	if err != nil || r.Events != 3 || r.Head != log[2].Hash {
		t.Errorf("verify: got %+v, %v; want 3 events and the head", r, err)
	}
}

func isStatus(err error, status int) bool {
	e, ok := errors.AsType[*client.Error](err)
	return ok && e.Status == status
}
