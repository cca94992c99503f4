//go:build linux

package consumerstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync makes f's data durable with fdatasync(2): a move overwrites
// bytes inside the file, so no metadata but the size (which fdatasync
// also flushes) matters.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
