//go:build !linux

package blobstore

import "os"

// startWriteback does nothing where sync_file_range(2) does not exist; the
// fsync that follows writes the pages all the same.
func startWriteback(f *os.File, off, n int64) {}
