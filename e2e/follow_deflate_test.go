package e2e

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"apie/internal/apache"
)

// TestFollowNotCompressed: behind an Apache that compresses JSON and
// NDJSON (mod_deflate, as many shared hosts set it up), a plain read is
// compressed but follow responses (NDJSON and SSE) are not, so each
// event reaches the client as it is flushed: the shipped .htaccess and
// Cache-Control: no-transform keep mod_deflate off them.
func TestFollowNotCompressed(t *testing.T) {
	requireApache(t)
	b := binaries(t)
	o := webOwner(t)
	docRoot := tempDir(t)
	s := installSite(t, b, o, docRoot, "apie", testConfig, true)
	a := startApacheWith(t, apacheModes[0], o, docRoot, func(opts *apache.Options) {
		opts.Modules = append(opts.Modules, "filter", "deflate")
		opts.Directives = "AddOutputFilterByType DEFLATE application/json application/x-ndjson text/event-stream"
	})
	tg := newTarget("deflate", a.URL(), s.urlPath, testUser, testPassword, true)
	tg.do(t, http.MethodPost, "/events", []byte(event("t", `{"pad":"`+strings.Repeat("x", 2000)+`"}`))).want(t, http.StatusCreated)
	open := func(target, accept string) *http.Response {
		t.Helper()
		api := tg.api(t)
		req, err := api.NewRequest(t.Context(), http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: Go's transport then leaves the answer as sent
		resp, err := api.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if ce := open("/events", "application/json").Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("a plain read has Content-Encoding %q: this Apache does not compress, the test proves nothing", ce)
	}
	for _, accept := range []string{"application/x-ndjson", "text/event-stream"} {
		resp := open("/events?follow=true", accept)
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("follow (%s) has Content-Encoding %q", accept, ce)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() && !found {
			found = strings.Contains(sc.Text(), "caughtUp")
		}
		if !found {
			t.Errorf("follow (%s): no caughtUp in the answer", accept)
		}
	}
}
