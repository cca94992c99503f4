package e2e

import (
	"context"
	"os"
	"sync"
	"testing"

	"apie/internal/testutil"
)

// testVersion is stamped into the binaries the tests build, so GET / can
// be checked for it.
const testVersion = "e2e-test"

// builds holds the binaries built for this test run: once per `go test`
// process, and only if a test asks; TestMain removes them at the end.
type builds struct {
	once sync.Once
	b    testutil.Binaries
	err  error
}

// built is the run's build cache. It is the package's only shared state
// (besides testutil's port set): filled at most once by binaries.
var built builds

func TestMain(m *testing.M) {
	code := m.Run()
	if built.b.Dir != "" {
		os.RemoveAll(built.b.Dir)
	}
	os.Exit(code)
}

// binaries builds apie-cgi and apie-serve for this machine (once per run,
// the version stamped, readable by the unprivileged owner of webOwner)
// and returns their paths. A build failure fails the calling test.
func binaries(t testing.TB) testutil.Binaries {
	t.Helper()
	built.once.Do(func() { built.b, built.err = testutil.BuildBinaries(context.Background(), testVersion) })
	if built.err != nil {
		t.Fatalf("build binaries: %v", built.err)
	}
	return built.b
}
