//go:build linux

package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"apie/internal/testutil"
)

// mountTmpfs mounts a tmpfs of size (as mount(8) takes it: "2m") on a new
// directory under t.TempDir and unmounts it when the test ends (after the
// processes the test started are gone: cleanups run last-in first-out).
// Where mounting is impossible it skips, or fails under
// APIE_REQUIRE_MOUNT=1.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0755"); err != nil {
		cannotMount(t, fmt.Sprintf("mount a tmpfs on %s: %v", dir, err))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			// Something still holds a file open; detach it all the same.
			if err2 := syscall.Unmount(dir, syscall.MNT_DETACH); err2 != nil {
				t.Errorf("unmount %s: %v, then %v", dir, err, err2)
			}
		}
	})
	return dir
}

// remount makes the file system mounted on dir read-only (or writable
// again), so writes fail with EROFS even for root.
func remount(t *testing.T, dir string, readOnly bool) {
	t.Helper()
	flags := uintptr(syscall.MS_REMOUNT | syscall.MS_NOSUID | syscall.MS_NODEV)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, ""); err != nil {
		t.Fatalf("remount %s (read-only %v): %v", dir, readOnly, err)
	}
}

// cannotMount skips the test, or fails it when APIE_REQUIRE_MOUNT=1 (CI,
// where the tests run as root and must not silently skip).
func cannotMount(t *testing.T, why string) {
	t.Helper()
	testutil.SkipOrFail(t, "APIE_REQUIRE_MOUNT", why+": run as root on Linux to test this")
}
