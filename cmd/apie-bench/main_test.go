package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"apie/internal/apache"
)

// TestRunTiny runs the whole suite at tiny sizes (1,000 events, 1 MiB
// blobs, a few requests each) and checks that every row and target came
// out with figures and that BENCHMARKS.md was written: make test proves
// the suite itself works. The Apache rows run when Apache is installed,
// and must when APIE_REQUIRE_APACHE=1.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries; skipped with -short")
	}
	withApache := true
	if _, _, err := apache.Find(); err != nil {
		if os.Getenv("APIE_REQUIRE_APACHE") == "1" {
			t.Fatalf("APIE_REQUIRE_APACHE=1 but: %v", err)
		}
		withApache = false
	}
	mode := map[bool]string{true: "on", false: "off"}[withApache]
	dir := t.TempDir()
	out := filepath.Join(dir, "BENCHMARKS.md")
	hand := handMarker + "\n## Analysis\nwritten by hand\n"
	if err := os.WriteFile(out, []byte("# an old run\n"+hand), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	rep, err := run(ctx, options{
		out: out, sizes: tinySizes, workRoot: dir, apache: mode, goBench: false,
		command: "go test ./cmd/apie-bench", stdout: &stdout, progress: &progress,
	})
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}

	t.Logf("table:\n%s\nprogress:\n%s", stdout.String(), progress.String())
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := []string{
		"apie-serve append p50, 1 client",
		"apie-serve appends, 4 concurrent clients",
		"apie-serve peak RSS after the 4-client load",
		"build the 1,000-event log",
		"GET /events/<hash> p50 at 1,000 events",
		"GET /events?after=<hash>&limit=100 p50 at 1,000 events",
		"GET /events, whole log, 1,000 events, JSON",
		"GET /events, whole log, 1,000 events, NDJSON",
		"blob PUT 1.0 MiB",
		"blob GET 1.0 MiB",
		"apie-cgi run directly, GET /",
		"apie-cgi peak RSS streaming GET /events",
		"Process start: package inits",
	}
	if withApache {
		wantRows = append(wantRows,
			"apie-cgi under Apache prefork + mod_cgi: append p50, bearer token",
			"apie-cgi under Apache event + mod_cgid: append p50, bearer token",
		)
	}
	for _, w := range wantRows {
		if !strings.Contains(string(md), w) {
			t.Errorf("BENCHMARKS.md lacks %q", w)
		}
		if !strings.Contains(stdout.String(), w) && !strings.HasPrefix(w, "Process start") {
			t.Errorf("the printed table lacks %q", w)
		}
	}
	if !strings.HasSuffix(string(md), hand) || strings.Contains(string(md), "# an old run") {
		t.Errorf("BENCHMARKS.md: want the old generated part replaced and the hand-written tail kept, got:\n%s", md)
	}
	for _, w := range []string{"## Machine", "Reproduce: `go test ./cmd/apie-bench`", "| Commit |", "## Targets"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("BENCHMARKS.md lacks %q", w)
		}
	}

	// Every row has a figure, and every target was decided (skipped only
	// where Apache did not run).
	for _, r := range rep.rows {
		if r.result == "" || strings.Contains(r.result, "NaN") || strings.HasPrefix(r.result, "0 µs") {
			t.Errorf("row %q: got result %q, want a measured figure", r.name, r.result)
		}
	}
	wantTargets := 11
	if !withApache {
		wantTargets--
	}
	decided := 0
	for _, tg := range rep.targets {
		switch tg.state {
		case "met", "not met":
			decided++
		case "skipped":
			if withApache {
				t.Errorf("target %q skipped with Apache installed: %s", tg.name, tg.bound)
			}
		default:
			t.Errorf("target %q: got state %q", tg.name, tg.state)
		}
	}
	if decided < wantTargets {
		t.Errorf("got %d decided targets, want at least %d:\n%s", decided, wantTargets, stdout.String())
	}
}
