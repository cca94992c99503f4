package e2e

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/client"
)

// liveBound is how soon after an append's answer a follower must have the
// event, through every web server: a generous bound that proves nothing
// buffers or polls, not a benchmark.
const liveBound = time.Second

// followRows are the contract's live reads: follow (NDJSON and SSE),
// Last-Event-ID, the CGI budget, long-poll, access_token, and no gap
// while many writers append.
func followRows() []contractRow {
	return []contractRow{
		{"follow=true sends the log, caughtUp, then a new event within 1 s of its append", func(t *testing.T, c *contract) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			msgs := followMessages(ctx, c.tg.api(t), client.FollowParams{})
			for _, e := range c.evs {
				m := nextMessage(t, msgs)
				if m.Kind != client.KindEvent || m.Event.Hash != e.Hash {
					t.Fatalf("got %+v, want the stored event %d", m, e.Seq)
				}
			}
			m := nextMessage(t, msgs)
			if m.Kind != client.KindCaughtUp || m.Head != c.head() || m.Count != uint64(len(c.evs)) {
				t.Fatalf("got %+v, want caughtUp at %s, count %d", m, c.head(), len(c.evs))
			}
			for range 3 {
				ev := c.wantAppended(t, c.tg.do(t, http.MethodPost, "/events", []byte(event("live.one", "1"))), http.StatusCreated, false, 1)[0]
				acked := time.Now()
				m := nextMessage(t, msgs)
				if m.Kind != client.KindEvent || m.Event.Hash != ev.Hash {
					t.Fatalf("got %+v, want the new event %s", m, ev.Hash)
				}
				if d := time.Since(acked); d > liveBound {
					t.Errorf("the event reached the follower %v after its append was answered, want within %v", d, liveBound)
				}
			}
		}},
		{"follow over SSE: retry, a 2 KiB comment, id and data per event, caughtUp; Last-Event-ID resumes", func(t *testing.T, c *contract) {
			c.need(t, 3)
			lines := c.sse(t, c.evs[len(c.evs)-3].Hash)
			if lines.next(t) != "retry: 2000" {
				t.Fatal("the first line is not retry: 2000")
			}
			if l := lines.next(t); !strings.HasPrefix(l, ":") || len(l) < 2048 {
				t.Fatalf("want a comment of 2 KiB or more, got %d bytes", len(l))
			}
			lines.next(t)
			for _, e := range c.evs[len(c.evs)-2:] {
				if l := lines.next(t); l != "id: "+e.Hash {
					t.Fatalf("got %q, want id: %s", l, e.Hash)
				}
				if l := lines.next(t); !strings.HasPrefix(l, "data: {") || !strings.Contains(l, e.Hash) {
					t.Fatalf("got %q, want the event as data", l)
				}
				lines.next(t)
			}
			lines.next(t) // caughtUp's id
			if l := lines.next(t); l != "event: caughtUp" {
				t.Fatalf("got %q, want event: caughtUp", l)
			}
			ev := c.wantAppended(t, c.tg.do(t, http.MethodPost, "/events", []byte(event("live.sse", "2"))), http.StatusCreated, false, 1)[0]
			for l := lines.next(t); l != ""; l = lines.next(t) { // the rest of caughtUp
			}
			if l := lines.next(t); l != "id: "+ev.Hash {
				t.Fatalf("got %q, want the live event's id", l)
			}
		}},
		{"wait=N answers with the events after, or [] after N seconds; too long a wait is 400", func(t *testing.T, c *contract) {
			c.need(t, 2)
			r := c.tg.do(t, http.MethodGet, "/events?wait=5&after="+c.evs[len(c.evs)-2].Hash, nil).want(t, http.StatusOK)
			if got := eventArray(t, r.body, c.tg.user); len(got) != 1 || got[0].Hash != c.head() {
				t.Fatalf("got %v, want the head event", hashes(got))
			}
			r = c.tg.do(t, http.MethodGet, "/events?wait=1&after=head", nil).want(t, http.StatusOK)
			if strings.TrimSpace(string(r.body)) != "[]" {
				t.Fatalf("got %q, want []", r.body)
			}
			done := make(chan []stored, 1)
			go func() {
				r := c.tg.do(t, http.MethodGet, "/events?wait=30&eventType=live.wait&after="+c.head(), nil)
				done <- eventArray(t, r.body, c.tg.user)
			}()
			time.Sleep(300 * time.Millisecond)
			ev := c.wantAppended(t, c.tg.do(t, http.MethodPost, "/events", []byte(event("live.wait", "3"))), http.StatusCreated, false, 1)[0]
			if got := <-done; len(got) != 1 || got[0].Hash != ev.Hash {
				t.Fatalf("got %v, want %s", hashes(got), ev.Hash)
			}
			max := 300
			if c.tg.cgi {
				max = 55
			}
			c.tg.do(t, http.MethodGet, fmt.Sprintf("/events?wait=%d&after=head", max+1), nil).want(t, http.StatusBadRequest)
		}},
		{"access_token= authenticates a GET, never a POST", func(t *testing.T, c *contract) {
			var v struct {
				Token string `json:"token"`
			}
			c.tg.do(t, http.MethodPost, "/auth/token", nil).want(t, http.StatusOK).json(t, &v)
			r := c.tg.do(t, http.MethodGet, "/events?limit=1&access_token="+v.Token, nil, noAuth()).want(t, http.StatusOK)
			if got := eventArray(t, r.body, c.tg.user); len(got) != 1 {
				t.Fatalf("got %d events, want 1", len(got))
			}
			c.tg.do(t, http.MethodPost, "/events?access_token="+v.Token, []byte(event("x", "1")), noAuth()).want(t, http.StatusUnauthorized)
			c.tg.do(t, http.MethodGet, "/events?limit=1&access_token="+v.Token+"x", nil, noAuth()).want(t, http.StatusUnauthorized)
		}},
		{"a follower started while 16 writers append sees every event once, in order", func(t *testing.T, c *contract) {
			const writers, each = 16, 3
			start := len(c.evs)
			var wg sync.WaitGroup
			replies := make([]*reply, writers*each)
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range each {
						replies[i*each+j] = c.tg.do(t, http.MethodPost, "/events", []byte(event("load", fmt.Sprintf(`{"w":%d,"j":%d}`, i, j))))
					}
				}()
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			msgs := followMessages(ctx, c.tg.api(t), client.FollowParams{})
			wg.Wait()
			// Record them in log order, as wantAppended wants.
			slices.SortFunc(replies, func(a, b *reply) int {
				return cmp.Compare(checkEvent(t, a.body, c.tg.user).Seq, checkEvent(t, b.body, c.tg.user).Seq)
			})
			for _, r := range replies {
				c.wantAppended(t, r, http.StatusCreated, false, 1)
			}
			var seq uint64
			for seq < uint64(start+writers*each) {
				m := nextMessage(t, msgs)
				if m.Kind != client.KindEvent {
					continue
				}
				seq++
				if m.Event.Seq != seq {
					t.Fatalf("got seq %d, want %d: a gap or a duplicate", m.Event.Seq, seq)
				}
			}
		}},
		{"under CGI a follow ends after follow.cgiSeconds with end, and the client resumes after it", func(t *testing.T, c *contract) {
			if !c.tg.cgi {
				return // apie-serve ends followers only when it stops (cmd/apie-serve's tests)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			msgs := followMessages(ctx, c.tg.api(t), client.FollowParams{After: "head"})
			if m := nextMessage(t, msgs); m.Kind != client.KindCaughtUp {
				t.Fatalf("got %+v, want caughtUp", m)
			}
			m := nextMessage(t, msgs)
			for m.Kind == client.KindHeartbeat {
				m = nextMessage(t, msgs)
			}
			if m.Kind != client.KindEnd || m.After != c.head() {
				t.Fatalf("got %+v, want end after %s", m, c.head())
			}
			if m := nextMessage(t, msgs); m.Kind != client.KindCaughtUp || m.Head != c.head() {
				t.Fatalf("after the reconnect: got %+v, want caughtUp at %s", m, c.head())
			}
			ev := c.wantAppended(t, c.tg.do(t, http.MethodPost, "/events", []byte(event("live.again", "4"))), http.StatusCreated, false, 1)[0]
			if m := nextMessage(t, msgs); m.Kind != client.KindEvent || m.Event.Hash != ev.Hash {
				t.Fatalf("got %+v, want %s", m, ev.Hash)
			}
		}},
	}
}

// followMessages runs client.Follow in the background.
func followMessages(ctx context.Context, api *client.Client, p client.FollowParams) <-chan client.FollowMessage {
	ch := make(chan client.FollowMessage, 4096)
	go func() {
		defer close(ch)
		for m, err := range api.Follow(ctx, p) {
			if err != nil {
				return
			}
			ch <- m
		}
	}()
	return ch
}

// nextMessage returns the next message of a follow but heartbeats (under
// fcgiwrap every flush ends with one, see LiveOptions.FlushPadding),
// within a bound meant for a loaded machine.
func nextMessage(t *testing.T, ch <-chan client.FollowMessage) client.FollowMessage {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("the follow ended with an error")
			}
			if m.Kind == client.KindHeartbeat {
				continue
			}
			return m
		case <-timeout:
			t.Fatal("no follow message within 30 s")
		}
	}
}

// sseLines are the lines of an open SSE follow.
type sseLines struct{ ch chan string }

func (s sseLines) next(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-s.ch:
		if !ok {
			t.Fatal("the SSE response ended")
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("no SSE line within 30 s")
	}
	return ""
}

// sse opens GET /events?follow=true as an EventSource reconnecting with
// Last-Event-ID would; the response is closed when the row ends.
func (c *contract) sse(t *testing.T, lastEventID string) sseLines {
	t.Helper()
	api := c.tg.api(t)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, err := api.NewRequest(ctx, http.MethodGet, "/events?follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", lastEventID)
	resp, err := api.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("SSE follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-cache, no-transform" {
		t.Errorf("Cache-Control %q", got)
	}
	if got := resp.Header.Get("Content-Encoding"); got != "" {
		t.Errorf("Content-Encoding %q: the follow was compressed", got)
	}
	s := sseLines{ch: make(chan string, 1024)}
	go func() {
		defer close(s.ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		comments, skipBlank := 0, false
		for sc.Scan() {
			l := sc.Text()
			// Comments after the first are the padding under fcgiwrap
			// (LiveOptions.FlushPadding), each with its blank line.
			if strings.HasPrefix(l, ":") {
				if comments++; comments > 1 {
					skipBlank = true
					continue
				}
			} else if l == "" && skipBlank {
				skipBlank = false
				continue
			}
			skipBlank = false
			s.ch <- l
		}
	}()
	return s
}

var _ = json.Valid
