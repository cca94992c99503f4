package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"apie/internal/pgtest"
)

// TestBackendsPhase runs the backends rows at tiny sizes and checks each
// came out with a rate and the INSERT floor; without PostgreSQL it checks
// the rows are skipped, saying why (and fails under APIE_REQUIRE_POSTGRES=1).
func TestBackendsPhase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries; skipped with -short")
	}
	_, pgErr := pgtest.BinDir()
	if pgErr != nil && os.Getenv(pgtest.RequireEnv) == "1" {
		t.Fatalf("%s=1 but: %v", pgtest.RequireEnv, pgErr)
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
	var progress bytes.Buffer
	b := &bench{opt: options{progress: &progress}, sz: tinySizes, repo: repo, work: work, rep: &report{}}
	defer func() {
		for i := len(b.cleanups) - 1; i >= 0; i-- {
			b.cleanups[i]()
		}
	}()
	if b.bin, err = build(ctx, repo, filepath.Join(work, "bin")); err != nil {
		t.Fatal(err)
	}
	if b.passwd, err = passwdFile(user4); err != nil {
		t.Fatal(err)
	}
	if err := b.backends(ctx); err != nil {
		t.Fatalf("backends: %v", err)
	}
	if pgErr != nil {
		if len(b.rep.targets) != 1 || b.rep.targets[0].state != "skipped" {
			t.Fatalf("without PostgreSQL: targets %+v, want one skipped", b.rep.targets)
		}
		return
	}
	var text bytes.Buffer
	b.rep.writeText(&text)
	t.Logf("\n%s", text.String())
	if len(b.rep.rows) != 4 {
		t.Fatalf("%d rows, want 4", len(b.rep.rows))
	}
	for _, r := range b.rep.rows {
		if !strings.HasPrefix(r.name, backendsRow) || r.result == "0/s" || !strings.Contains(r.floor, "INSERT") {
			t.Errorf("row %+v", r)
		}
	}
}
