package handler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"apie/eventlog"
	"apie/handler"
)

// TestFollowersShareReads: many followers woken by the same appends,
// starting at different points (so their ranges differ, then meet), each
// get every event once, in order: what they share (the head read under
// one wake channel, the records of one range) is never another's.
func TestFollowersShareReads(t *testing.T) {
	fx := newLiveFixture(t, handler.LiveOptions{}, eventlog.NotifyOptions{})
	other := fx.otherLog(t)
	seed := fx.appendN(t, other, "seed", 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const followers = 12
	readers := make([]*lineReader, followers)
	starts := make([]int, followers) // the seq each follower starts after
	for i := range readers {
		q := "/events?follow=true"
		if k := i % 4; k > 0 {
			starts[i] = k
			q += "&after=" + seed[k-1]
		}
		readers[i] = newLineReader(t, fx.open(t, ctx, q, nil).Body)
	}
	const live = 30
	for i := range live {
		fx.appendN(t, other, fmt.Sprintf("live%d", i%3), 1)
	}
	for i, lr := range readers {
		for seq := starts[i] + 1; seq <= 5+live; {
			m := lr.nextJSON()
			if m["apie"] != nil {
				continue
			}
			if m["seq"] != float64(seq) {
				t.Fatalf("follower %d: got seq %v, want %d", i, m["seq"], seq)
			}
			seq++
		}
	}
}

// TestFollowLongReplay: a replay longer than what followers share is
// copied straight from the log, whole and in order, and then caughtUp;
// with fcgiwrap's flush padding too.
func TestFollowLongReplay(t *testing.T) {
	for _, pad := range []int{0, 9000} {
		t.Run(fmt.Sprintf("padding %d", pad), func(t *testing.T) {
			fx := newLiveFixture(t, handler.LiveOptions{FlushPadding: pad}, eventlog.NotifyOptions{})
			other := fx.otherLog(t)
			const n = 60
			big := `"` + strings.Repeat("y", 40<<10) + `"` // 60 × 40 KiB: past the 1 MiB shared
			for range n {
				appendBody(t, other, big)
			}
			lr := newLineReader(t, fx.open(t, context.Background(), "/events?follow=true", nil).Body)
			for seq := 1; seq <= n; {
				m := lr.nextJSON()
				if m["apie"] == "heartbeat" {
					continue
				}
				if m["seq"] != float64(seq) {
					t.Fatalf("got %v, want seq %d", m["seq"], seq)
				}
				seq++
			}
			for {
				m := lr.nextJSON()
				if m["apie"] == "heartbeat" {
					continue
				}
				wantControl(t, m, "caughtUp")
				if m["count"] != float64(n) {
					t.Errorf("caughtUp %v, want count %d", m, n)
				}
				break
			}
			fx.appendN(t, other, "after", 1)
			for m := lr.nextJSON(); m["apie"] == "heartbeat"; m = lr.nextJSON() {
			}
		})
	}
}
