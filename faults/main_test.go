package faults

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bin holds the paths of the binaries under test. TestMain sets it once,
// before any test runs; tests only read it.
var bin struct {
	serve string // apie-serve
	cgi   string // apie-cgi
}

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "apie-faults-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Readable by all, so a test may run the binaries as another user.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}
	if err := build(dir); err != nil {
		fmt.Fprintf(os.Stderr, "faults: %v\n", err)
		return 1
	}
	bin.serve = filepath.Join(dir, "apie-serve")
	bin.cgi = filepath.Join(dir, "apie-cgi")
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

// build compiles the two mains of the module into dir as static binaries.
func build(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
		if _, serr := os.Stat(goTool); serr != nil {
			return errors.Join(errors.New("build binaries: no go tool in PATH"), err)
		}
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", dir+string(filepath.Separator),
		"apie/cmd/apie-serve", "apie/cmd/apie-cgi")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build binaries: %w\n%s", err, out)
	}
	return nil
}
