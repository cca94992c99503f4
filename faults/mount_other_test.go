//go:build !linux

package faults

import (
	"os"
	"testing"
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
	if os.Getenv("APIE_REQUIRE_MOUNT") == "1" {
		t.Fatalf("%s (APIE_REQUIRE_MOUNT=1: mounting is required)", why)
	}
	t.Skip(why)
}
