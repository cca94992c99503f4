package testutil

import (
	"os"
	"testing"
)

// SkipOrFail is for a test that cannot run here because of why (Apache is
// not installed, mounting needs root): it skips t, unless the environment
// variable env is "1", which says this run must not skip such tests; then
// it fails t.
func SkipOrFail(t testing.TB, env, why string) {
	t.Helper()
	if os.Getenv(env) == "1" {
		t.Fatalf("%s=1 but %s", env, why)
	}
	t.Skipf("%s (%s=1 makes this a failure)", why, env)
}
