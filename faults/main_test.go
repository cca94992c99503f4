package faults

import (
	"context"
	"fmt"
	"os"
	"testing"

	"apie/internal/testutil"
)

// bin holds the paths of the binaries under test. TestMain sets it once,
// before any test runs; tests only read it.
var bin struct {
	serve string // apie-serve
	cgi   string // apie-cgi
}

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	b, err := testutil.BuildBinaries(context.Background(), "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}
	defer os.RemoveAll(b.Dir)
	bin.serve, bin.cgi = b.Serve, b.CGI
	code := m.Run()
	// The table is written even when tests failed: their rows say so.
	if out := os.Getenv("APIE_RELIABILITY_OUT"); out != "" {
		if err := table.writeFile(out); err != nil {
			fmt.Fprintf(os.Stderr, "faults: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "faults: wrote %s\n", out)
	}
	return code
}
