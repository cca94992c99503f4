package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"apie/client"
	apievent "apie/event"
	"apie/internal/pgtest"
	"apie/internal/s3test"
	"apie/sum"
)

// backendConfig is testConfig with the event log in PostgreSQL (schema) and
// the blobs in MinIO (bucket "apie", under prefix). The S3 keys come from
// the environment (backendEnv), as an operator's would.
func backendConfig(pg *pgtest.Server, s3 *s3test.Server, schema, prefix string) string {
	cfg := map[string]any{
		"auth":   map[string]any{"bcryptCost": 4},
		"admins": []string{testUser},
		"limits": map[string]any{"eventBytes": 65536, "requestBytes": 1048576, "batchEvents": 100},
		"eventlog": map[string]any{"postgres": map[string]any{
			"dsn": pg.DSN(), "schema": schema,
		}},
		"contentstore": map[string]any{"s3": map[string]any{
			"endpoint": s3.Endpoint, "bucket": "apie", "secure": false, "prefix": prefix,
			"accessKeyEnv": "APIE_E2E_S3_ACCESS", "secretKeyEnv": "APIE_E2E_S3_SECRET",
		}},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	return string(b) + "\n"
}

func backendEnv(s3 *s3test.Server) []string {
	return []string{"APIE_E2E_S3_ACCESS=" + s3.AccessKey, "APIE_E2E_S3_SECRET=" + s3.SecretKey}
}

// makeBucket creates the bucket the configs name: apie-serve expects it.
func makeBucket(t *testing.T, s3 *s3test.Server) {
	t.Helper()
	if err := s3.MakeBucket(t.Context(), "apie"); err != nil {
		t.Fatal(err)
	}
}

// TestContractOnBackends runs the contract table against apie-serve with
// its event log in a private PostgreSQL and its blobs in a private MinIO:
// every row holds there as on files, streams and erasure included (see
// the README, Backends).
func TestContractOnBackends(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	makeBucket(t, s3)
	b := binaries(t)
	o := webOwner(t)
	dir := tempDir(t)
	cfg := writeConfig(t, dir, backendConfig(pg, s3, pg.NewSchema(), "contract/"))
	o.chownTree(t, dir)
	env := backendEnv(s3)
	mustRun(t, o, dir, testPassword+"\n", env, b.Serve, "-config", cfg, "user", "add", testUser, testInfo)
	srv := startServe(t, b, o, cfg, env...)
	runBackendContract(t, newTarget("apie-serve on postgres+s3", srv.origin, "", testUser, testPassword, false))
}

// TestTwoServersOneChain: two apie-serve processes on the same PostgreSQL
// and bucket take appends at once; both serve the same single chain, with
// every acknowledged event in it once, and each reads the blobs the other
// stored.
func TestTwoServersOneChain(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	makeBucket(t, s3)
	b := binaries(t)
	o := webOwner(t)
	dir := tempDir(t)
	cfg := writeConfig(t, dir, backendConfig(pg, s3, pg.NewSchema(), "shared/"))
	o.chownTree(t, dir)
	env := backendEnv(s3)
	mustRun(t, o, dir, testPassword+"\n", env, b.Serve, "-config", cfg, "user", "add", testUser, testInfo)
	// Both nodes read the same apie.json, users file and token key.
	nodes := []*target{
		newTarget("node A", startServe(t, b, o, cfg, env...).origin, "", testUser, testPassword, false),
		newTarget("node B", startServe(t, b, o, cfg, env...).origin, "", testUser, testPassword, false),
	}
	const writers, each = 3, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[string]bool{}
	for n, node := range nodes {
		for w := range writers {
			wg.Go(func() {
				api := node.api(t)
				for i := range each {
					body := json.RawMessage(fmt.Sprintf(`{"node":%d,"writer":%d,"i":%d}`, n, w, i))
					res, err := api.Append(t.Context(), []client.NewEvent{{EventType: "test.shared", Body: body}}, client.AppendOptions{})
					if err != nil {
						t.Errorf("%s: append: %v", node.name, err)
						return
					}
					mu.Lock()
					for _, ev := range res.Events {
						acked[ev.Hash] = true
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := len(nodes) * writers * each
	if len(acked) != want { // the chain holds want distinct events, each acknowledged: so every acknowledged one
		t.Fatalf("%d distinct events acknowledged, want %d", len(acked), want)
	}
	var views [][]byte
	for _, node := range nodes {
		evs, err := node.api(t).ReadAll(t.Context(), client.ReadParams{})
		if err != nil {
			t.Fatalf("%s: read: %v", node.name, err)
		}
		if len(evs) != want {
			t.Fatalf("%s: read %d events, want %d", node.name, len(evs), want)
		}
		var view []byte
		prev := sum.Genesis.String()
		for i, ev := range evs {
			got, err := apievent.VerifyRecord(ev.Raw)
			if err != nil || got.Seq != uint64(i+1) || got.PrevHash.String() != prev {
				t.Fatalf("%s: event %d does not verify or link: %v (seq %d, prev %s)", node.name, i+1, err, got.Seq, got.PrevHash)
			}
			if !acked[ev.Hash] {
				t.Fatalf("%s: event %d (%s) was never acknowledged", node.name, i+1, ev.Hash)
			}
			prev = ev.Hash
			view = append(append(view, ev.Raw...), '\n')
		}
		rep, err := node.api(t).VerifyEvents(t.Context())
		if err != nil || rep.Events != uint64(want) || rep.Head != prev {
			t.Fatalf("%s: verify: got %+v, %v; want %d events, head %s", node.name, rep, err, want, prev)
		}
		views = append(views, view)
	}
	if !bytes.Equal(views[0], views[1]) {
		t.Fatal("the two nodes serve different logs")
	}
	data := []byte("stored through node A, read through node B")
	blob, err := nodes[0].api(t).PutBlob(t.Context(), bytes.NewReader(data), "shared.txt", "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	got, err := nodes[1].api(t).GetBlob(t.Context(), blob.Hash)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(got.Body); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("node B served %q, %v; want %q", buf.Bytes(), err, data)
	}
}
