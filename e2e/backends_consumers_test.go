package e2e

import (
	"encoding/json"
	"net/http"
	"testing"

	"apie/client"
	"apie/internal/pgtest"
	"apie/internal/s3test"
)

// TestConsumersSharedByNodes: with the event log in PostgreSQL the
// consumers are kept there too (README, Backends), so two apie-serve
// processes on the same tables, each with its own directory (as on two
// machines), share them: a consumer created and moved
// through node A is seen through node B, a compare-and-swap through B
// against A's position succeeds, and A then sees B's move.
func TestConsumersSharedByNodes(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	makeBucket(t, s3)
	b := binaries(t)
	o := webOwner(t)
	schema := pg.NewSchema()
	env := backendEnv(s3)
	node := func(name string) *target {
		dir := tempDir(t)
		cfg := writeConfig(t, dir, backendConfig(pg, s3, schema, "consumers/"))
		o.chownTree(t, dir)
		mustRun(t, o, dir, testPassword+"\n", env, b.Serve, "-config", cfg, "user", "add", testUser, testInfo)
		return newTarget(name, startServe(t, b, o, cfg, env...).origin, "", testUser, testPassword, false)
	}
	a, nb := node("node A"), node("node B")
	res, err := a.api(t).Append(t.Context(), []client.NewEvent{
		{EventType: "t", Body: json.RawMessage(`1`)}, {EventType: "t", Body: json.RawMessage(`2`)}}, client.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, second := res.Events[0].Hash, res.Events[1].Hash
	a.do(t, http.MethodPut, "/consumers/projector", move(first, false)).want(t, http.StatusCreated)
	var c struct {
		After *string `json:"after"`
		Seq   uint64  `json:"seq"`
	}
	nb.do(t, http.MethodGet, "/consumers/projector", nil).want(t, http.StatusOK).json(t, &c)
	if c.After == nil || *c.After != first || c.Seq != 1 {
		t.Fatalf("node B sees the consumer at %+v, want node A's move to seq 1", c)
	}
	nb.do(t, http.MethodPut, "/consumers/projector", move(second, false), header("If-Match", `"`+first+`"`)).want(t, http.StatusOK)
	a.do(t, http.MethodGet, "/consumers/projector", nil).want(t, http.StatusOK).json(t, &c)
	if c.After == nil || *c.After != second || c.Seq != 2 {
		t.Fatalf("node A sees the consumer at %+v, want node B's move to seq 2", c)
	}
	// A stale compare-and-swap through A is refused: B's move holds.
	a.do(t, http.MethodPut, "/consumers/projector", move(second, false), header("If-Match", `"`+first+`"`)).want(t, http.StatusPreconditionFailed)
	nb.do(t, http.MethodDelete, "/consumers/projector", nil).want(t, http.StatusOK)
	a.do(t, http.MethodGet, "/consumers/projector", nil).want(t, http.StatusNotFound)
}
