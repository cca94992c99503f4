package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"apie/eventlog"
	"apie/handler"
	"apie/store"
	"apie/sum"
)

// moveConsumer puts consumer name after the event hash (Genesis: before
// the first event).
func (fx *liveFixture) moveConsumer(t *testing.T, name, hash string) {
	t.Helper()
	h, err := sum.Parse(hash)
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	if h != sum.Genesis {
		if seq, err = fx.log.Lookup(context.Background(), h); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := fx.consumers.Move(context.Background(), store.ConsumerMove{Name: name, After: h, Seq: seq, Force: true}); err != nil {
		t.Fatal(err)
	}
}

// TestFollowConsumer: follow=true&consumer=c starts after c's position
// (with stream= too), a consumer before the first event replays the
// whole log, and wait=N&consumer=c answers with the events after it.
func TestFollowConsumer(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	s := seedStreams(t, other) // orders1, orders2nd, order42, none, orders2, /orders2
	fx.moveConsumer(t, "proj", s.orders2nd)
	fx.moveConsumer(t, "fresh", sum.Genesis.String())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lr := newLineReader(t, fx.open(t, ctx, "/events?follow=true&consumer=proj", nil).Body)
	for _, h := range []string{s.order42, s.none, s.orders2} {
		wantEvent(t, lr.nextJSON(), h)
	}
	lr.nextJSON() // the last /orders2 event
	wantControl(t, lr.nextJSON(), "caughtUp")
	live := appendTo(t, other, "", "a")
	wantEvent(t, lr.nextJSON(), live)

	lr = newLineReader(t, fx.open(t, ctx, "/events?follow=true&consumer=proj&stream=/orders", nil).Body)
	wantEvent(t, lr.nextJSON(), s.orders2)
	cu := lr.nextJSON()
	wantControl(t, cu, "caughtUp")
	if cu["head"] != s.orders2 || cu["count"] != 2.0 {
		t.Errorf("caughtUp %v, want the stream's head %s and version 2", cu, s.orders2)
	}

	lr = newLineReader(t, fx.open(t, ctx, "/events?follow=true&consumer=fresh", nil).Body)
	wantEvent(t, lr.nextJSON(), s.orders1)

	resp := fx.open(t, ctx, "/events?wait=5&consumer=proj&limit=2", nil)
	body, _ := io.ReadAll(resp.Body)
	var evs []map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &evs) != nil || len(evs) != 2 || evs[0]["hash"] != s.order42 || evs[1]["hash"] != s.none {
		t.Fatalf("wait with consumer: %d %s, want %s and %s", resp.StatusCode, body, s.order42, s.none)
	}
	if link := resp.Header.Get("Link"); !strings.Contains(link, "after="+s.none) || strings.Contains(link, "consumer=") {
		t.Errorf("Link %q: want the next page after %s, not the consumer again", link, s.none)
	}

	for q, code := range map[string]int{
		"follow=true&consumer=nobody":                  http.StatusNotFound,
		"wait=1&consumer=nobody":                       http.StatusNotFound,
		"follow=true&consumer=proj&after=" + s.orders1: http.StatusBadRequest,
		"wait=1&consumer=proj&from=" + s.orders1:       http.StatusBadRequest,
	} {
		resp := fx.open(t, ctx, "/events?"+q, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != code || !strings.Contains(string(body), `"errorMessage"`) {
			t.Errorf("%s: got %d %s, want a JSON %d", q, resp.StatusCode, body, code)
		}
	}
}
