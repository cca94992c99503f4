package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// fileID identifies one version of a file cheaply: a rewrite by rename
// changes the inode, an edit in place the size or modification time. The
// zero fileID stands for a missing file.
type fileID struct {
	exists bool
	dev    uint64
	ino    uint64
	size   int64
	mtime  int64 // unix nanoseconds
}

// idOf returns the identity of the file fi describes.
func idOf(fi fs.FileInfo) fileID {
	dev, ino := devIno(fi)
	return fileID{exists: true, dev: dev, ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// statID stats path; a missing file gives the zero fileID and no error.
func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fileID{}, nil
	}
	if err != nil {
		return fileID{}, fmt.Errorf("stat passwd: %w", err)
	}
	return idOf(fi), nil
}
