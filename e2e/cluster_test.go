package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"apie/client"
	apievent "apie/event"
	"apie/internal/pgtest"
	"apie/internal/s3test"
	"apie/internal/testutil"
	"apie/sum"
)

// cluster is apie-serve processes sharing one PostgreSQL schema and one
// bucket, and the users file and token key of one directory.
type cluster struct {
	b     testutil.Binaries
	o     owner
	cfg   string
	env   []string
	nodes []*server
}

func startCluster(t *testing.T, pg *pgtest.Server, s3 *s3test.Server, n int) *cluster {
	t.Helper()
	makeBucket(t, s3)
	c := &cluster{b: binaries(t), o: webOwner(t), env: backendEnv(s3)}
	dir := tempDir(t)
	c.cfg = writeConfig(t, dir, backendConfig(pg, s3, pg.NewSchema(), "cluster/"))
	c.o.chownTree(t, dir)
	mustRun(t, c.o, dir, testPassword+"\n", c.env, c.b.Serve, "-config", c.cfg, "user", "add", testUser, testInfo)
	for range n {
		c.nodes = append(c.nodes, startServe(t, c.b, c.o, c.cfg, c.env...))
	}
	return c
}

// load is clients appending one event at a time, each with its own
// eventId, through the nodes, the way a careful client does: a 503 or a
// broken connection is retried with the same eventId (on the next live
// node when the connection broke), so nothing is appended twice.
type load struct {
	hc      *http.Client
	origins []string
	dead    []atomic.Bool // per node: killed on purpose, so connection errors are expected

	mu    sync.Mutex
	acked map[string]string // eventId → hash, for each acknowledged append

	acks      atomic.Int64
	unavail   atomic.Int64 // 503s with Retry-After
	connFails atomic.Int64 // requests that got no answer (a killed node)
}

func newLoad(origins []string) *load {
	return &load{origins: origins, dead: make([]atomic.Bool, len(origins)), acked: map[string]string{},
		hc: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// run starts clients clients, client i first on node i mod len(nodes),
// each appending each events, and returns when all are done.
func (l *load) run(t *testing.T, clients, each int) {
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			node := w % len(l.origins)
			for i := range each {
				id := apievent.NewUUID()
				body := fmt.Sprintf(`[{"eventId":%q,"eventType":"test.cluster","body":{"client":%d,"i":%d}}]`, id, w, i)
				deadline := time.Now().Add(3 * time.Minute)
				for {
					if time.Now().After(deadline) {
						t.Errorf("client %d: event %d not acknowledged within 3 minutes", w, i)
						return
					}
					status, hdr, resp, err := l.post(node, body)
					switch {
					case err != nil && l.dead[node].Load():
						l.connFails.Add(1)
						node = (node + 1) % len(l.origins)
						continue
					case err != nil:
						t.Errorf("client %d on node %d: %v", w, node, err)
						return
					case status == http.StatusServiceUnavailable:
						if ra := hdr.Get("Retry-After"); ra != "2" {
							t.Errorf("client %d: 503 with Retry-After %q, want 2: %s", w, ra, resp)
							return
						}
						l.unavail.Add(1)
						time.Sleep(20 * time.Millisecond)
						continue
					case status != http.StatusCreated && status != http.StatusOK:
						t.Errorf("client %d on node %d: status %d: %s", w, node, status, resp)
						return
					}
					var evs []struct{ EventID, Hash string }
					if err := json.Unmarshal(resp, &evs); err != nil || len(evs) != 1 || evs[0].EventID != id {
						t.Errorf("client %d: answer %s: %v", w, resp, err)
						return
					}
					l.mu.Lock()
					l.acked[id] = evs[0].Hash
					l.mu.Unlock()
					l.acks.Add(1)
					break
				}
			}
		})
	}
	wg.Wait()
}

func (l *load) post(node int, body string) (int, http.Header, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, l.origins[node]+"/events", bytes.NewBufferString(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.SetBasicAuth(testUser, testPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// checkChain reads the whole log through origin and checks it is one valid
// chain holding every acknowledged event exactly once (and no eventId
// twice), and that POST /events/verify on origin agrees. It returns the
// number of events.
func (l *load) checkChain(t *testing.T, name, origin string) int {
	t.Helper()
	tg := newTarget(name, origin, "", testUser, testPassword, false)
	evs, err := tg.api(t).ReadAll(t.Context(), client.ReadParams{})
	if err != nil {
		t.Fatalf("%s: read: %v", name, err)
	}
	seen := map[string]bool{}
	prev := sum.Genesis.String()
	for i, ev := range evs {
		got, err := apievent.VerifyRecord(ev.Raw)
		if err != nil || got.Seq != uint64(i+1) || got.PrevHash.String() != prev {
			t.Fatalf("%s: event %d does not verify or link: %v", name, i+1, err)
		}
		if seen[got.EventID] {
			t.Fatalf("%s: eventId %s is in the chain twice", name, got.EventID)
		}
		seen[got.EventID] = true
		prev = ev.Hash
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, h := range l.acked {
		if !seen[id] {
			t.Fatalf("%s: acknowledged event %s (%s) is not in the chain", name, id, h)
		}
	}
	rep, err := tg.api(t).VerifyEvents(t.Context())
	if err != nil || rep.Events != uint64(len(evs)) || rep.Head != prev {
		t.Fatalf("%s: verify: got %+v, %v; want %d events, head %s", name, rep, err, len(evs), prev)
	}
	return len(evs)
}

// TestThreeNodesKillOne: three apie-serve processes on one PostgreSQL and
// one MinIO take appends from 16 clients spread over them; one node is
// killed with SIGKILL while the load runs, and its clients carry on through
// the others, retrying by eventId. Every acknowledged event is in the one
// chain exactly once, nothing is appended twice, and each node (the killed
// one started again) serves that chain and passes verify.
func TestThreeNodesKillOne(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	c := startCluster(t, pg, s3, 3)
	origins := []string{c.nodes[0].origin, c.nodes[1].origin, c.nodes[2].origin}
	l := newLoad(origins)
	const clients, each = 16, 15
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for l.acks.Load() < clients*each/4 && !t.Failed() {
			time.Sleep(5 * time.Millisecond)
		}
		l.dead[2].Store(true)
		c.nodes[2].Kill()
	}()
	l.run(t, clients, each)
	<-killed
	if t.Failed() {
		return
	}
	if n := l.acks.Load(); n != clients*each {
		t.Fatalf("%d appends acknowledged, want %d", n, clients*each)
	}
	// The killed node's clients had events left (5 clients × 15 > the
	// quarter of all acknowledged before the kill): each met the dead node.
	if l.connFails.Load() == 0 {
		t.Fatal("no request met the killed node: the kill was not mid-load")
	}
	c.nodes[2] = startServe(t, c.b, c.o, c.cfg, c.env...)
	for i, n := range c.nodes {
		if got := l.checkChain(t, fmt.Sprintf("node %d", i), n.origin); got != clients*each {
			t.Fatalf("node %d: %d events in the chain, want %d (each acknowledged once, none twice)", i, got, clients*each)
		}
	}
}

// TestPostgresRestartUnderLoad: PostgreSQL is stopped while 8 clients
// append through two apie-serve processes. Meanwhile the nodes answer 503
// with Retry-After (never another error); once PostgreSQL is back they
// serve again without being restarted, and every acknowledged event is in
// the chain exactly once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	c := startCluster(t, pg, s3, 2)
	l := newLoad([]string{c.nodes[0].origin, c.nodes[1].origin})
	const clients, each = 8, 20
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		for l.acks.Load() < clients*each/4 && !t.Failed() {
			time.Sleep(5 * time.Millisecond)
		}
		pg.Stop(t)
		for l.unavail.Load() < 10 && !t.Failed() {
			time.Sleep(5 * time.Millisecond)
		}
		pg.Resume(t)
	}()
	l.run(t, clients, each)
	<-restarted
	if t.Failed() {
		return
	}
	if l.unavail.Load() < 10 {
		t.Fatalf("%d 503s while PostgreSQL was down, want at least 10", l.unavail.Load())
	}
	for i, n := range c.nodes {
		if got := l.checkChain(t, fmt.Sprintf("node %d", i), n.origin); got != clients*each {
			t.Fatalf("node %d: %d events in the chain, want %d", i, got, clients*each)
		}
	}
}
