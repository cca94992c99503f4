package blobstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing f's dirty pages in
// [off, off+n) to disk without waiting for them (sync_file_range(2) with
// SYNC_FILE_RANGE_WRITE). It promises nothing about durability — the
// fsync that follows does — but lets the disk work while the rest of the
// upload is read and hashed, and lets one journal commit cover several
// files synced in a row. Errors are ignored: the fsync reports real ones.
func startWriteback(f *os.File, off, n int64) {
	if n <= 0 {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
