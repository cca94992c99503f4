//go:build unix

package auth

import (
	"io/fs"
	"syscall"
)

// devIno returns the device and inode numbers of the file fi describes.
func devIno(fi fs.FileInfo) (dev, ino uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // widths differ by platform
}
