package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLivePhaseTiny runs the live-read phase alone at the tiny sizes and
// checks it reports every row.
func TestLivePhaseTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	repo, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for _, d := range []string{"bin", "logs"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := &bench{opt: options{sizes: tinySizes}, sz: tinySizes, repo: repo, work: work, rep: &report{}}
	if b.bin, err = build(ctx, repo, filepath.Join(work, "bin")); err != nil {
		t.Fatal(err)
	}
	if b.passwd, err = passwdFile(user4, user10); err != nil {
		t.Fatal(err)
	}
	if err := b.live(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"wake-up, apie-serve append", "wake-up, apie-cgi append", "RSS per idle follower", "CPU with", "fan-out", "catch-up"}
	for _, w := range want {
		found := false
		for _, r := range b.rep.rows {
			if strings.Contains(r.name, w) {
				found = true
				t.Logf("%s: %s | %s | %s", r.name, r.result, r.floor, r.ratio)
			}
		}
		if !found {
			t.Errorf("no row with %q", w)
		}
	}
}
