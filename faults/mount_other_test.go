//go:build !linux

package faults

import (
	"testing"

	"apie/internal/testutil"
)

func mountTmpfs(t *testing.T, size string) string {
	cannotMount(t, "mounting a tmpfs needs Linux")
	return ""
}

func remount(t *testing.T, dir string, readOnly bool) {
	cannotMount(t, "remounting needs Linux")
}

func cannotMount(t *testing.T, why string) {
	t.Helper()
	testutil.SkipOrFail(t, "APIE_REQUIRE_MOUNT", why)
}
