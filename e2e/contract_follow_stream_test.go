package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// followStreamRows are the live reads by stream and by consumer: follow
// with stream=, recursive=true and eventType=, follow and wait with
// consumer=. They append to streams of their own (/live/…), so they run
// after any other rows.
func followStreamRows() []contractRow {
	// post appends one event of stream (none if "") and records it.
	post := func(t *testing.T, c *contract, stream, typ string) streamEvent {
		t.Helper()
		body := `{"eventType":"` + typ + `","body":{}`
		if stream != "" {
			body += `,"stream":"` + stream + `"`
		}
		r := c.tg.do(t, http.MethodPost, "/events", []byte(body+"}")).want(t, http.StatusCreated)
		e := checkStreamEvent(t, r.body, c.tg.user)
		if e.Seq == uint64(len(c.evs))+1 {
			c.evs = append(c.evs, e.stored)
		}
		return e
	}
	var seed []streamEvent // /live/a x, /live2 x, /live/a/b y, none x, /live/a y
	seedOnce := func(t *testing.T, c *contract) {
		t.Helper()
		if seed != nil {
			return
		}
		for _, x := range [][2]string{{"/live/a", "x"}, {"/live2", "x"}, {"/live/a/b", "y"}, {"", "x"}, {"/live/a", "y"}} {
			seed = append(seed, post(t, c, x[0], x[1]))
		}
	}
	// wantLive appends events and checks that the follower gets the one
	// at index want (the others do not match) within liveBound.
	wantLive := func(t *testing.T, c *contract, f followLines, events [][2]string, want int) {
		t.Helper()
		var got streamEvent
		var acked time.Time
		for i, x := range events {
			e := post(t, c, x[0], x[1])
			if i == want {
				got, acked = e, time.Now()
			}
		}
		m := f.next(t)
		if m["hash"] != got.Hash {
			t.Fatalf("got %v, want the live event %s of %s (the ones before it do not match)", m, got.Hash, got.Stream)
		}
		if d := time.Since(acked); d > liveBound {
			t.Errorf("the event reached the follower %v after its append was answered, want within %v", d, liveBound)
		}
	}
	return []contractRow{
		{"follow=true&stream= sends that stream's events, caughtUp with its last event and version, then its new events only", func(t *testing.T, c *contract) {
			seedOnce(t, c)
			f := c.followNDJSON(t, "stream=/live/a")
			for _, e := range []streamEvent{seed[0], seed[4]} {
				if m := f.next(t); m["hash"] != e.Hash {
					t.Fatalf("got %v, want the stream's event %s", m, e.Hash)
				}
			}
			if m := f.next(t); m["apie"] != "caughtUp" || m["head"] != seed[4].Hash || m["count"] != 2.0 {
				t.Fatalf("got %v, want caughtUp at %s, count 2", m, seed[4].Hash)
			}
			wantLive(t, c, f, [][2]string{{"/live2", "x"}, {"/live/a/b", "x"}, {"", "x"}, {"/live/a", "x"}}, 3)
		}},
		{"follow with recursive=true adds the streams below (never a sibling); eventType narrows it", func(t *testing.T, c *contract) {
			seedOnce(t, c)
			f := c.followNDJSON(t, "stream=/live/a&recursive=true&eventType=y")
			for _, e := range []streamEvent{seed[2], seed[4]} {
				if m := f.next(t); m["hash"] != e.Hash {
					t.Fatalf("got %v, want %s of %s", m, e.Hash, e.Stream)
				}
			}
			if m := f.next(t); m["apie"] != "caughtUp" {
				t.Fatalf("got %v, want caughtUp", m)
			}
			wantLive(t, c, f, [][2]string{{"/live2", "y"}, {"/live/a/c", "x"}, {"/live/ab", "y"}, {"/live/a/c/d", "y"}}, 3)
		}},
		{"follow and wait with consumer= start after the consumer's position", func(t *testing.T, c *contract) {
			seedOnce(t, c)
			if r := c.tg.do(t, http.MethodPut, "/consumers/live-reader", move(seed[1].Hash, true)); r.status != http.StatusCreated && r.status != http.StatusOK {
				t.Fatalf("PUT /consumers/live-reader: %d %s", r.status, truncate(r.body))
			}
			// The events after seed[1] of /live/a and below, as stored now.
			var want []string
			var after bool
			for _, e := range c.evs {
				if after {
					want = append(want, e.Hash)
				}
				after = after || e.Hash == seed[1].Hash
			}
			f := c.followNDJSON(t, "consumer=live-reader")
			for _, h := range want {
				if m := f.next(t); m["hash"] != h {
					t.Fatalf("got %v, want %s", m, h)
				}
			}
			if m := f.next(t); m["apie"] != "caughtUp" || m["head"] != c.head() {
				t.Fatalf("got %v, want caughtUp at %s", m, c.head())
			}
			wantLive(t, c, f, [][2]string{{"", "x"}}, 0)

			fs := c.followNDJSON(t, "consumer=live-reader&stream=/live/a")
			if m := fs.next(t); m["hash"] != seed[4].Hash {
				t.Fatalf("follow consumer and stream: got %v, want %s", m, seed[4].Hash)
			}

			r := c.tg.do(t, http.MethodGet, "/events?wait=5&limit=1&consumer=live-reader", nil).want(t, http.StatusOK)
			if got := streamArray(t, r.body, c.tg.user); len(got) != 1 || got[0].Hash != seed[2].Hash {
				t.Fatalf("wait with consumer: got %s, want %s", r.body, seed[2].Hash)
			}
			c.tg.do(t, http.MethodGet, "/events?wait=1&consumer=no-such-reader", nil).want(t, http.StatusNotFound)
			c.tg.do(t, http.MethodGet, "/events?follow=true&consumer=live-reader&after=head", nil).want(t, http.StatusBadRequest)
		}},
		{"wait=N&stream= answers with that stream's next event only", func(t *testing.T, c *contract) {
			seedOnce(t, c)
			head := c.head()
			done := make(chan *reply, 1)
			go func() {
				done <- c.tg.do(t, http.MethodGet, "/events?wait=30&stream=/live/w&after="+head, nil)
			}()
			post(t, c, "/live/w2", "x")
			post(t, c, "/live/w/x", "x")
			want := post(t, c, "/live/w", "x")
			r := <-done
			r.want(t, http.StatusOK)
			if got := streamArray(t, r.body, c.tg.user); len(got) != 1 || got[0].Hash != want.Hash {
				t.Fatalf("got %s, want %s", r.body, want.Hash)
			}
			c.tg.do(t, http.MethodGet, "/events?follow=true&stream=live", nil).want(t, http.StatusBadRequest)
			c.tg.do(t, http.MethodGet, "/events?wait=1&recursive=true", nil).want(t, http.StatusBadRequest)
		}},
	}
}

// streamArray decodes a JSON array of events that may belong to streams.
func streamArray(t *testing.T, body []byte, user string) []streamEvent {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		t.Fatalf("want a JSON array of events, got %q: %v", truncate(body), err)
	}
	evs := make([]streamEvent, len(raws))
	for i, raw := range raws {
		evs[i] = checkStreamEvent(t, raw, user)
	}
	return evs
}

// followLines are the messages of an open NDJSON follow, heartbeats left
// out (under fcgiwrap every flush ends with one).
type followLines struct{ ch chan map[string]any }

func (f followLines) next(t *testing.T) map[string]any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-f.ch:
			if !ok {
				t.Fatal("the follow ended")
			}
			if m["apie"] == "heartbeat" {
				continue
			}
			return m
		case <-timeout:
			t.Fatal("no follow line within 30 s")
		}
	}
}

// followNDJSON opens GET /events?follow=true&query; it is closed when the
// row ends.
func (c *contract) followNDJSON(t *testing.T, query string) followLines {
	t.Helper()
	if _, err := url.ParseQuery(query); err != nil {
		t.Fatal(err)
	}
	api := c.tg.api(t)
	req, err := api.NewRequest(t.Context(), http.MethodGet, "/events?follow=true&"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := api.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("follow %s: %d %s", query, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	f := followLines{ch: make(chan map[string]any, 1024)}
	go func() {
		defer close(f.ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal([]byte(strings.TrimSpace(sc.Text())), &m) != nil {
				return
			}
			f.ch <- m
		}
	}()
	return f
}
