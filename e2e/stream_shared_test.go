package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// TestStreamsSharedDataDirectory has apie-cgi requests (under Apache)
// and an apie-serve, separate processes on one data directory, race on
// one stream with expectedVersion, and append to streams of their own:
// every version of the raced stream is won by exactly one writer (the
// others get 412 naming the version), the writers on their own streams
// never conflict, and the streams read back numbered 1, 2, 3… and verify.
func TestStreamsSharedDataDirectory(t *testing.T) {
	requireApache(t)
	b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
	s := installSite(t, b, o, docRoot, "streams", testConfig, true)
	srv := startServe(t, b, o, filepath.Join(s.dir, "apie.json"))
	a := startApache(t, apacheModes[0], o, docRoot)
	cgi := newTarget("cgi", a.URL(), s.urlPath, testUser, testPassword, true)
	serve := newTarget("apie-serve", srv.origin, "", testUser, testPassword, false)

	const writers, attempts, own = 16, 4, 3
	var mu sync.Mutex
	winners := map[uint64][]string{} // version of /race -> the eventIds that won it
	var wg sync.WaitGroup
	var gs []*goTB
	for w := range writers {
		tg := serve
		if w%2 == 0 {
			tg = cgi
		}
		g := &goTB{TB: t}
		gs = append(gs, g)
		wg.Go(func() {
			for range attempts {
				r := tg.do(g, http.MethodHead, "/events?stream=/race", nil).want(g, http.StatusOK)
				v, err := strconv.ParseUint(r.header.Get("X-Apie-Count"), 10, 64)
				if err != nil {
					g.Fatalf("X-Apie-Count %q", r.header.Get("X-Apie-Count"))
				}
				id := newUUID()
				body := fmt.Sprintf(`{"eventId":%q,"eventType":"race","body":%d,"stream":"/race","expectedVersion":%d}`, id, w, v)
				r = tg.do(g, http.MethodPost, "/events", []byte(body))
				switch r.status {
				case http.StatusCreated:
					mu.Lock()
					winners[v+1] = append(winners[v+1], id)
					mu.Unlock()
				case http.StatusPreconditionFailed:
					var e struct {
						Stream         string  `json:"stream"`
						CurrentVersion *uint64 `json:"currentVersion"`
					}
					r.json(g, &e)
					if e.Stream != "/race" || e.CurrentVersion == nil || *e.CurrentVersion <= v {
						g.Errorf("412 body %s after version %d", r.body, v)
					}
				default:
					g.Fatalf("append: status %d %s", r.status, r.body)
				}
			}
			for i := range own {
				body := fmt.Sprintf(`{"eventType":"own","body":%d,"stream":"/own/%d","expectedVersion":%d}`, i, w, i)
				tg.do(g, http.MethodPost, "/events", []byte(body)).want(g, http.StatusCreated)
			}
		})
	}
	wg.Wait()
	for _, g := range gs {
		g.report(t)
	}
	if len(winners) == 0 {
		t.Fatal("no writer won a version")
	}
	r := serve.do(t, http.MethodGet, "/events?stream=/race", nil).want(t, http.StatusOK)
	var race []streamEvent
	for _, raw := range jsonArray(t, r.body) {
		race = append(race, checkStreamEvent(t, raw, testUser))
	}
	if len(race) != len(winners) {
		t.Errorf("/race holds %d events, %d versions were won", len(race), len(winners))
	}
	for i, e := range race {
		v := uint64(i + 1)
		if e.StreamSeq != v {
			t.Errorf("event %d of /race has streamSeq %d", i+1, e.StreamSeq)
		}
		if ids := winners[v]; len(ids) != 1 || ids[0] != e.EventID {
			t.Errorf("version %d: won by %q, the log holds %s", v, ids, e.EventID)
		}
	}
	for w := range writers {
		for _, tg := range []*target{cgi, serve} {
			r := tg.do(t, http.MethodHead, fmt.Sprintf("/events?stream=/own/%d", w), nil).want(t, http.StatusOK)
			r.wantHeader(t, "X-Apie-Count", strconv.Itoa(own))
		}
	}
	for _, tg := range []*target{cgi, serve} {
		tg.do(t, http.MethodPost, "/events/verify", nil).want(t, http.StatusOK)
	}
}

// jsonArray splits a JSON array into its elements.
func jsonArray(t testing.TB, body []byte) []json.RawMessage {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		t.Fatalf("want a JSON array, got %q: %v", truncate(body), err)
	}
	return raws
}
