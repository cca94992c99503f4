package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"apie/client"
	"apie/internal/pgtest"
	"apie/internal/s3test"
)

// TestFollowAcrossNodes: on PostgreSQL a follower of node A sees an
// event appended through node B (followers there look at the head every
// follow.pollSeconds, which sees every node's appends).
func TestFollowAcrossNodes(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	makeBucket(t, s3)
	b := binaries(t)
	o := webOwner(t)
	dir := tempDir(t)
	cfg := writeConfig(t, dir, backendConfig(pg, s3, pg.NewSchema(), "follow/"))
	o.chownTree(t, dir)
	env := backendEnv(s3)
	mustRun(t, o, dir, testPassword+"\n", env, b.Serve, "-config", cfg, "user", "add", testUser, testInfo)
	nodeA := newTarget("node A", startServe(t, b, o, cfg, env...).origin, "", testUser, testPassword, false)
	nodeB := newTarget("node B", startServe(t, b, o, cfg, env...).origin, "", testUser, testPassword, false)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	got := make(chan string, 1)
	caughtUp := make(chan struct{})
	go func() {
		for m, err := range nodeA.api(t).Follow(ctx, client.FollowParams{After: "head"}) {
			if err != nil {
				return
			}
			switch m.Kind {
			case client.KindCaughtUp:
				close(caughtUp)
			case client.KindEvent:
				got <- m.Event.Hash
				return
			}
		}
	}()
	select {
	case <-caughtUp:
	case <-ctx.Done():
		t.Fatal("the follower on node A never caught up")
	}
	res, err := nodeB.api(t).Append(ctx, []client.NewEvent{{EventType: "test.follow", Body: json.RawMessage(`{"via":"B"}`)}}, client.AppendOptions{})
	if err != nil {
		t.Fatalf("append through node B: %v", err)
	}
	select {
	case h := <-got:
		if h != res.Events[0].Hash {
			t.Fatalf("the follower on node A got %s, want %s", h, res.Events[0].Hash)
		}
	case <-ctx.Done():
		t.Fatal("the follower on node A never saw the event appended through node B")
	}
}
