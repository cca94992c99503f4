package handler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/eventlog"
	"apie/handler"
)

// TestFollowNDJSON: the stored events, caughtUp with the head and count,
// then events another log instance appends (woken by the kernel watch),
// a heartbeat when quiet, and the end line on StopFollowers.
func TestFollowNDJSON(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{Heartbeat: time.Second}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	stored := fx.appendN(t, other, "a", 3)
	resp := fx.open(t, context.Background(), "/events?follow=true", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, v := range map[string]string{
		"Content-Type": "application/x-ndjson", "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	lr := newLineReader(t, resp.Body)
	for _, h := range stored {
		wantEvent(t, lr.nextJSON(), h)
	}
	cu := lr.nextJSON()
	wantControl(t, cu, "caughtUp")
	if cu["head"] != stored[2] || cu["count"] != 3.0 {
		t.Errorf("caughtUp: got %v, want head %s count 3", cu, stored[2])
	}
	live := fx.appendN(t, other, "a", 2)
	wantEvent(t, lr.nextJSON(), live[0])
	wantEvent(t, lr.nextJSON(), live[1])
	wantControl(t, lr.nextJSON(), "heartbeat")
	fx.h.StopFollowers()
	end := lr.nextJSON()
	wantControl(t, end, "end")
	if end["after"] != live[1] {
		t.Errorf("end: got %v, want after %s", end, live[1])
	}
	if !lr.ended() {
		t.Error("the response did not end after the end line")
	}
}

// TestFollowSSE: retry first, a padding comment of 2 KiB or more, each
// event as id and data without an event field, caughtUp as a named
// event; Last-Event-ID resumes after that event.
func TestFollowSSE(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	stored := fx.appendN(t, other, "a", 3)
	ctx, cancel := context.WithCancel(context.Background())
	resp := fx.open(t, ctx, "/events?follow=true", map[string]string{"Accept": "text/event-stream"})
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	lr := newLineReader(t, resp.Body)
	if l := lr.next(); l != "retry: 2000" {
		t.Fatalf("first line %q, want retry: 2000", l)
	}
	if l := lr.next(); !strings.HasPrefix(l, ":") || len(l) < 2048 {
		t.Fatalf("second line: want a comment of 2 KiB or more, got %d bytes", len(l))
	}
	lr.next() // the blank line ending the comment
	for _, h := range stored {
		if l := lr.next(); l != "id: "+h {
			t.Fatalf("got %q, want id: %s", l, h)
		}
		data := lr.next()
		var ev map[string]any
		if !strings.HasPrefix(data, "data: ") || json.Unmarshal([]byte(data[6:]), &ev) != nil || ev["hash"] != h {
			t.Fatalf("got %q, want the event's data", data)
		}
		if l := lr.next(); l != "" {
			t.Fatalf("got %q, want the blank line after an event", l)
		}
	}
	if l := lr.next(); l != "id: "+stored[2] {
		t.Fatalf("got %q, want caughtUp's id", l)
	}
	if l := lr.next(); l != "event: caughtUp" {
		t.Fatalf("got %q, want event: caughtUp", l)
	}
	cancel()

	resp = fx.open(t, context.Background(), "/events?follow=true&after=head", map[string]string{
		"Accept": "text/event-stream", "Last-Event-ID": stored[0],
	})
	lr = newLineReader(t, resp.Body)
	for lr.next() != "" { // retry, then the comment
	}
	for _, h := range stored[1:] {
		if l := lr.next(); l != "id: "+h {
			t.Fatalf("after Last-Event-ID: got %q, want id: %s", l, h)
		}
		lr.next()
		lr.next()
	}
	for lr.next() != "" { // caughtUp
	}
	fx.h.StopFollowers()
	var end []string
	for l := lr.next(); l != ""; l = lr.next() {
		end = append(end, l)
	}
	want := []string{"id: " + stored[2], "event: end", `data: {"apie":"end","after":"` + stored[2] + `"}`, "retry: 2000"}
	if strings.Join(end, "\n") != strings.Join(want, "\n") {
		t.Errorf("end event: got %q, want %q", end, want)
	}
	if !lr.ended() {
		t.Error("the response goes on after end")
	}
}

// TestFollowFilterAndAfterHead: eventType keeps only the listed types;
// after=head sends only what is appended after the follow starts.
func TestFollowFilterAndAfterHead(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	fx.appendN(t, other, "a", 2)
	b := fx.appendN(t, other, "b", 1)
	resp := fx.open(t, context.Background(), "/events?follow=true&eventType=b,c", nil)
	lr := newLineReader(t, resp.Body)
	wantEvent(t, lr.nextJSON(), b[0])
	wantControl(t, lr.nextJSON(), "caughtUp")
	fx.appendN(t, other, "a", 1)
	c := fx.appendN(t, other, "c", 1)
	wantEvent(t, lr.nextJSON(), c[0])

	resp = fx.open(t, context.Background(), "/events?follow=true&after=head", nil)
	lr = newLineReader(t, resp.Body)
	cu := lr.nextJSON()
	wantControl(t, cu, "caughtUp")
	if cu["head"] != c[0] || cu["count"] != 5.0 {
		t.Errorf("caughtUp %v, want head %s count 5", cu, c[0])
	}
	n := fx.appendN(t, other, "a", 1)
	wantEvent(t, lr.nextJSON(), n[0])
}

// TestFollowBadParams: live reads refuse what they cannot do, with 400.
func TestFollowBadParams(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{MaxWait: 55 * time.Second}, eventlog.NotifyOptions{})
	for _, q := range []string{
		"follow=yes", "follow=true&wait=1", "wait=56", "wait=-1", "wait=x", "follow=true&limit=2",
		"follow=true&to=" + strings.Repeat("0", 64), "follow=true&eventType=", "follow=true&after=xyz",
		"follow=true&from=head",
	} {
		resp := fx.open(t, context.Background(), "/events?"+q, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"errorMessage"`) {
			t.Errorf("%s: got %d %s, want a JSON 400", q, resp.StatusCode, body)
		}
	}
	resp := fx.open(t, context.Background(), "/events?follow=true&after="+strings.Repeat("a", 64), nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("after an unknown hash: got %d, want 404", resp.StatusCode)
	}
}

// TestFollowNoGapUnderLoad: a follower started while 16 writers (each
// with its own log instance, as separate processes would be) append sees
// every event exactly once, in log order.
func TestFollowNoGapUnderLoad(t *testing.T) {
	for _, mode := range []struct {
		name   string
		notify eventlog.NotifyOptions
	}{{"inotify", eventlog.NotifyOptions{}}, {"poll", eventlog.NotifyOptions{Poll: true, PollInterval: 50 * time.Millisecond}}} {
		t.Run(mode.name, func(t *testing.T) {
			fx := newLiveFixture(t, handler.LiveOptions{}, mode.notify)
			const writers, each = 16, 25
			fx.appendN(t, fx.otherLog(t), "seed", 50)
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
					fx.appendN(t, logs[i], fmt.Sprintf("w%d", i), each)
				}()
			}
			close(start)
			resp := fx.open(t, context.Background(), "/events?follow=true", nil)
			lr := newLineReader(t, resp.Body)
			wg.Wait()
			total := 50 + writers*each
			seq, caughtUp := 0, 0
			for seq < total {
				m := lr.nextJSON()
				if m["apie"] == "caughtUp" {
					caughtUp++
					continue
				}
				seq++
				if m["seq"] != float64(seq) {
					t.Fatalf("got seq %v, want %d: a gap or a duplicate", m["seq"], seq)
				}
			}
			if caughtUp > 1 {
				t.Errorf("caughtUp sent %d times", caughtUp)
			}
			// Everything the log holds was sent once; the follower now waits.
			head, err := fx.log.Head(context.Background())
			if err != nil || head.Seq != uint64(total) {
				t.Fatalf("head %v %v, want %d events", head, err, total)
			}
		})
	}
}

// TestFollowBudget: with a budget (CGI), the follow ends with the end line.
func TestFollowBudget(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{Budget: 200 * time.Millisecond}, eventlog.NotifyOptions{})
	h := fx.appendN(t, fx.otherLog(t), "a", 1)
	resp := fx.open(t, context.Background(), "/events?follow=true", nil)
	lr := newLineReader(t, resp.Body)
	wantEvent(t, lr.nextJSON(), h[0])
	wantControl(t, lr.nextJSON(), "caughtUp")
	end := lr.nextJSON()
	wantControl(t, end, "end")
	if end["after"] != h[0] {
		t.Errorf("end %v, want after %s", end, h[0])
	}
	if !lr.ended() {
		t.Error("the response goes on after end")
	}
}

// TestFollowSlowReader: a follower that reads nothing while the log
// grows is cut off after the write timeout, with a log line, instead of
// holding the server's memory.
func TestFollowSlowReader(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{WriteTimeout: 500 * time.Millisecond}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	resp := fx.open(t, context.Background(), "/events?follow=true", nil)
	_ = resp // never read
	big := strings.Repeat("x", 900<<10)
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; !strings.Contains(fx.logBuf.String(), "follower cut off"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no follower cut off after %d big events; log:\n%s", i, fx.logBuf.String())
		}
		if i < 200 {
			appendBody(t, other, `"`+big+`"`)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
}
