package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// testVersion is stamped into the binaries the tests build, so GET / can
// be checked for it.
const testVersion = "e2e-test"

// builds holds the binaries built for this test run: once per `go test`
// process, into a directory TestMain removes at the end.
type builds struct {
	dir  string
	once sync.Once
	err  error
}

// built is the run's build cache. It is the package's only shared state:
// set up by TestMain, filled at most once by binaries.
var built builds

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "apie-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: make build directory: %v\n", err)
		os.Exit(1)
	}
	// An unprivileged owner (see webOwner) must be able to run them.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: open up build directory: %v\n", err)
		os.Exit(1)
	}
	built.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bins names the two built executables.
type bins struct {
	CGI   string // apie-cgi
	Serve string // apie-serve
}

// binaries builds apie-cgi and apie-serve for this machine (once per run)
// and returns their paths. A build failure fails the calling test.
func binaries(t testing.TB) bins {
	t.Helper()
	built.once.Do(func() {
		for _, name := range []string{"apie-cgi", "apie-serve"} {
			if err := goBuild(filepath.Join(built.dir, name), "./cmd/"+name, nil); err != nil {
				built.err = err
				return
			}
		}
	})
	if built.err != nil {
		t.Fatalf("build binaries: %v", built.err)
	}
	return bins{CGI: filepath.Join(built.dir, "apie-cgi"), Serve: filepath.Join(built.dir, "apie-serve")}
}

// goBuild builds pkg (a path relative to the module root) into out the way
// the Makefile does: CGO_ENABLED=0, -trimpath, the version stamped. env
// adds variables such as GOOS and GOARCH.
func goBuild(out, pkg string, env []string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("find the go command: %w", err)
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-X apie/app.Version="+testVersion, "-o", out, pkg)
	cmd.Dir = ".." // the module root; tests run in the package directory
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
