package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"apie/event"
	"apie/eventlog"
	"apie/handler"
	"apie/store"
	"apie/sum"
)

// appendTo appends one event of type typ to stream (none if "") through
// l, returning its hash.
func appendTo(t *testing.T, l *eventlog.EventLog, stream, typ string) string {
	t.Helper()
	d := event.Draft{EventID: event.NewUUID(), EventType: typ, Stream: stream, Body: []byte(`{}`)}
	res, err := l.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: liveUser})
	if err != nil {
		t.Fatalf("append to %q: %v", stream, err)
	}
	return res.Events[0].Hash.String()
}

// streamSeed is the seed of the stream follow tests: events of /orders,
// of a stream below it, of a sibling that shares its prefix, and of no
// stream, interleaved.
type streamSeed struct {
	orders1, orders2, order42, orders2nd, none string
}

func seedStreams(t *testing.T, l *eventlog.EventLog) streamSeed {
	var s streamSeed
	s.orders1 = appendTo(t, l, "/orders", "a")
	s.orders2nd = appendTo(t, l, "/orders2", "a")
	s.order42 = appendTo(t, l, "/orders/42", "b")
	s.none = appendTo(t, l, "", "a")
	s.orders2 = appendTo(t, l, "/orders", "b")
	appendTo(t, l, "/orders2", "b")
	return s
}

// TestFollowStream: follow=true with stream= replays only that stream's
// events (recursive=true: and those below it, never /orders2), then
// caughtUp with the selection's last event and its count, then only
// matching live events; eventType narrows further without changing
// caughtUp's count.
func TestFollowStream(t *testing.T) {
	cases := []struct {
		query     string
		replay    func(s streamSeed) []string // the head is the last one
		count     float64
		live      [][2]string // stream, type: appended in order
		wantLive  int         // index in live of the first event the follower gets
		wantCount int         // how many of live it gets, from wantLive on
	}{
		{"stream=/orders", func(s streamSeed) []string { return []string{s.orders1, s.orders2} }, 2,
			[][2]string{{"/orders2", "a"}, {"/orders/42", "a"}, {"", "a"}, {"/orders", "a"}}, 3, 1},
		{"stream=/orders&recursive=true", func(s streamSeed) []string { return []string{s.orders1, s.order42, s.orders2} }, 3,
			[][2]string{{"/orders2", "a"}, {"/orders/42/lines", "a"}}, 1, 1},
		{"stream=/orders&recursive=true&eventType=b", func(s streamSeed) []string { return []string{s.order42, s.orders2} }, 3,
			[][2]string{{"/orders/7", "a"}, {"/orders2", "b"}, {"/orders/7", "b"}}, 2, 1},
		{"stream=/orders/42", func(s streamSeed) []string { return []string{s.order42} }, 1,
			[][2]string{{"/orders/42/x", "a"}, {"/orders/42", "a"}}, 1, 1},
		{"stream=/nothing", func(s streamSeed) []string { return nil }, 0,
			[][2]string{{"/nothing2", "a"}, {"/nothing", "a"}}, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
			other := fx.otherLog(t)
			replay := tc.replay(seedStreams(t, other))
			head := sum.Genesis.String()
			if len(replay) > 0 {
				head = replay[len(replay)-1]
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			resp := fx.open(t, ctx, "/events?follow=true&"+tc.query, nil)
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d %s", resp.StatusCode, b)
			}
			lr := newLineReader(t, resp.Body)
			for _, h := range replay {
				wantEvent(t, lr.nextJSON(), h)
			}
			cu := lr.nextJSON()
			wantControl(t, cu, "caughtUp")
			if cu["head"] != head || cu["count"] != tc.count {
				t.Errorf("caughtUp %v, want head %s count %v", cu, head, tc.count)
			}
			var hashes []string
			for _, x := range tc.live {
				hashes = append(hashes, appendTo(t, other, x[0], x[1]))
			}
			// Lines come in log order: the next event line is the first
			// live event that matches, or a non-matching one came first.
			for _, h := range hashes[tc.wantLive : tc.wantLive+tc.wantCount] {
				wantEvent(t, lr.nextJSON(), h)
			}
		})
	}
}

// TestFollowStreamSSE: a stream follow over SSE sends each event with its
// id, and caughtUp's id is the stream's last event, so a reconnect with
// Last-Event-ID resumes there.
func TestFollowStreamSSE(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	s := seedStreams(t, other)
	resp := fx.open(t, context.Background(), "/events?follow=true&stream=/orders", map[string]string{"Accept": "text/event-stream"})
	lr := newLineReader(t, resp.Body)
	for lr.next() != "" { // retry, then the padding comment
	}
	for _, h := range []string{s.orders1, s.orders2} {
		if l := lr.next(); l != "id: "+h {
			t.Fatalf("got %q, want id: %s", l, h)
		}
		lr.next()
		lr.next()
	}
	if l := lr.next(); l != "id: "+s.orders2 {
		t.Fatalf("got %q, want caughtUp's id, the stream's last event", l)
	}
	if l := lr.next(); l != "event: caughtUp" {
		t.Fatalf("got %q, want event: caughtUp", l)
	}
}

// countingLog counts the whole-log reads (Reader) a handler makes.
type countingLog struct {
	*eventlog.EventLog
	readers atomic.Int64
}

func (c *countingLog) Reader(ctx context.Context, first, last uint64) (io.ReadCloser, error) {
	c.readers.Add(1)
	return c.EventLog.Reader(ctx, first, last)
}

// TestFollowStreamReadsTheIndex: a stream follow and a stream long-poll
// read the stream's events through the stream index, never by reading
// the log's range (a plain follow of the same log does).
func TestFollowStreamReadsTheIndex(t *testing.T) {
	var counted *countingLog
	fx := newLiveFixtureServing(t, handler.LiveOptions{}, eventlog.NotifyOptions{}, func(l *eventlog.EventLog) store.EventLog {
		counted = &countingLog{EventLog: l}
		return counted
	})
	other := fx.otherLog(t)
	fx.appendN(t, other, "noise", 200)
	want := appendTo(t, other, "/orders/1", "a")
	fx.appendN(t, other, "noise", 200)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lr := newLineReader(t, fx.open(t, ctx, "/events?follow=true&stream=/orders&recursive=true", nil).Body)
	wantEvent(t, lr.nextJSON(), want)
	wantControl(t, lr.nextJSON(), "caughtUp")
	fx.appendN(t, other, "noise", 5)
	live := appendTo(t, other, "/orders/2", "a")
	wantEvent(t, lr.nextJSON(), live)
	resp := fx.open(t, ctx, "/events?wait=5&stream=/orders/1&after="+sum.Genesis.String(), nil)
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), want) {
		t.Fatalf("long-poll by stream: %d %s", resp.StatusCode, body)
	}
	if n := counted.readers.Load(); n != 0 {
		t.Errorf("stream reads read the log's range %d times, want 0", n)
	}
	lr = newLineReader(t, fx.open(t, ctx, "/events?follow=true", nil).Body)
	lr.nextJSON()
	if counted.readers.Load() == 0 {
		t.Error("a plain follow did not read the log's range: the count proves nothing")
	}
}

// noStreams is a log without the stream index.
type noStreams struct{ store.EventLog }

// TestFollowStreamUnsupported: on a backend without streams, follow and
// wait by stream are 501 with a JSON error; without stream= they work.
func TestFollowStreamUnsupported(t *testing.T) {
	fx := newLiveFixtureServing(t, handler.LiveOptions{}, eventlog.NotifyOptions{}, func(l *eventlog.EventLog) store.EventLog {
		return noStreams{l}
	})
	for _, q := range []string{"follow=true&stream=/orders", "wait=1&stream=/orders&recursive=true"} {
		resp := fx.open(t, context.Background(), "/events?"+q, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(string(body), `"errorMessage"`) {
			t.Errorf("%s: got %d %s, want a JSON 501", q, resp.StatusCode, body)
		}
	}
	resp := fx.open(t, context.Background(), "/events?wait=0", nil)
	if resp.StatusCode != 200 {
		t.Errorf("wait=0 without a stream: %d", resp.StatusCode)
	}
}

// TestFollowStreamBadParams: bad stream names and recursive without a
// stream are 400.
func TestFollowStreamBadParams(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	for _, q := range []string{
		"follow=true&stream=orders", "follow=true&stream=/a//b", "follow=true&stream=",
		"follow=true&stream=/a&recursive=yes", "follow=true&recursive=true", "wait=1&stream=/a/..",
	} {
		resp := fx.open(t, context.Background(), "/events?"+q, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"errorMessage"`) {
			t.Errorf("%s: got %d %s, want a JSON 400", q, resp.StatusCode, body)
		}
	}
}

// TestFollowStreamNoGapUnderLoad: a recursive stream follower started
// while 16 writers append (to streams below it and to a sibling) sees
// every event below it exactly once, in log order; a follower of one
// writer's stream sees its versions 1..n in order.
func TestFollowStreamNoGapUnderLoad(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	const writers, each = 16, 20
	seed := fx.otherLog(t)
	for i := range 10 {
		appendTo(t, seed, fmt.Sprintf("/w/%d", i%3), "seed")
	}
	logs := make([]*eventlog.EventLog, writers)
	for i := range logs {
		logs[i] = fx.otherLog(t)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := range each {
				stream := fmt.Sprintf("/w/%d", i)
				if j%2 == 1 {
					stream = fmt.Sprintf("/w%d", i) // a sibling: never /w's
				}
				appendTo(t, logs[i], stream, "x")
			}
		}()
	}
	close(start)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	all := newLineReader(t, fx.open(t, ctx, "/events?follow=true&stream=/w&recursive=true", nil).Body)
	one := newLineReader(t, fx.open(t, ctx, "/events?follow=true&stream=/w/5", nil).Body)
	wg.Wait()
	total := 10 + writers*each/2
	var last float64
	for n := 0; n < total; {
		m := all.nextJSON()
		if m["apie"] == "caughtUp" {
			continue
		}
		n++
		if s, _ := m["stream"].(string); !strings.HasPrefix(s, "/w/") {
			t.Fatalf("event of stream %q in a follow of /w", s)
		}
		if seq := m["seq"].(float64); seq <= last {
			t.Fatalf("seq %v after %v: a duplicate or out of order", seq, last)
		} else {
			last = seq
		}
	}
	for v := 1; v <= each/2; {
		m := one.nextJSON()
		if m["apie"] == "caughtUp" {
			continue
		}
		if m["stream"] != "/w/5" || m["streamSeq"] != float64(v) {
			t.Fatalf("got %v %v, want /w/5 version %d", m["stream"], m["streamSeq"], v)
		}
		v++
	}
	// Nothing more is owed: a follow of /w has had every event below it.
	n, err := countStream(fx.log, "/w")
	if err != nil || n != total {
		t.Fatalf("the log holds %d events below /w (%v), want %d", n, err, total)
	}
}

func countStream(l *eventlog.EventLog, name string) (int, error) {
	seqs, err := l.StreamSeqs(context.Background(), store.StreamQuery{Stream: name, Recursive: true})
	return len(seqs), err
}

// TestLongPollStream: wait=N with stream= answers with the stream's
// events after the start only, waits past other streams' appends, and
// pages with a next link that keeps stream and recursive.
func TestLongPollStream(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	s := seedStreams(t, other)
	get := func(target string) ([]map[string]any, *http.Response) {
		t.Helper()
		resp := fx.open(t, context.Background(), target, nil)
		body, _ := io.ReadAll(resp.Body)
		var evs []map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(body, &evs) != nil {
			t.Fatalf("%s: %d %s", target, resp.StatusCode, body)
		}
		return evs, resp
	}
	if evs, _ := get("/events?wait=5&stream=/orders&after=" + s.orders1); len(evs) != 1 || evs[0]["hash"] != s.orders2 {
		t.Fatalf("after the first /orders event: got %v, want %s only", evs, s.orders2)
	}
	evs, resp := get("/events?wait=5&limit=1&stream=/orders&recursive=true&after=" + s.orders1)
	if len(evs) != 1 || evs[0]["hash"] != s.order42 {
		t.Fatalf("recursive, limit=1: got %v, want %s", evs, s.order42)
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, "stream=%2Forders") || !strings.Contains(link, "recursive=true") || !strings.Contains(link, "after="+s.order42) {
		t.Errorf("Link %q: want the next page of the same stream read", link)
	}
	head, err := fx.log.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []map[string]any, 1)
	go func() {
		resp := fx.open(t, context.Background(), "/events?wait=60&stream=/orders&after="+head.Hash.String(), nil)
		body, _ := io.ReadAll(resp.Body)
		var evs []map[string]any
		json.Unmarshal(body, &evs)
		done <- evs
	}()
	for _, st := range []string{"/orders2", "/orders/9", ""} {
		appendTo(t, other, st, "a") // not /orders: the poll goes on waiting
	}
	want := appendTo(t, other, "/orders", "a")
	if evs := <-done; len(evs) != 1 || evs[0]["hash"] != want {
		t.Fatalf("got %v, want the /orders event %s only", evs, want)
	}
}
