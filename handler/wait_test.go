package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"apie/eventlog"
	"apie/handler"
)

// TestLongPoll: wait=N answers at once when events follow after=, waits
// for the first matching one otherwise, and answers [] after N seconds.
func TestLongPoll(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	a := fx.appendN(t, other, "a", 2)
	get := func(target string) []map[string]any {
		t.Helper()
		resp := fx.open(t, context.Background(), target, nil)
		body, _ := io.ReadAll(resp.Body)
		var evs []map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(body, &evs) != nil {
			t.Fatalf("%s: %d %s", target, resp.StatusCode, body)
		}
		return evs
	}
	if evs := get("/events?wait=5&after=" + a[0]); len(evs) != 1 || evs[0]["hash"] != a[1] {
		t.Fatalf("events already there: got %v, want %s", evs, a[1])
	}
	start := time.Now()
	if evs := get("/events?wait=1&after=" + a[1]); len(evs) != 0 {
		t.Fatalf("nothing new: got %v, want []", evs)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("an empty answer after %v, want after the 1 s wait", d)
	}
	done := make(chan []map[string]any)
	go func() { done <- get("/events?wait=60&eventType=b&after=" + a[1]) }()
	time.Sleep(200 * time.Millisecond)
	fx.appendN(t, other, "a", 1) // filtered out: the poll goes on waiting
	b := fx.appendN(t, other, "b", 1)
	select {
	case evs := <-done:
		if len(evs) != 1 || evs[0]["hash"] != b[0] {
			t.Fatalf("got %v, want the b event %s only", evs, b[0])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the long-poll did not answer the append")
	}
	if evs := get("/events?wait=0&limit=1&after=head"); len(evs) != 0 {
		t.Errorf("after=head wait=0: got %v", evs)
	}
}
