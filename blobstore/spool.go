package blobstore

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"apie/store"
	"apie/sum"
)

// spool copies r into a new temp file in tmp/ (already set to FileMode)
// while hashing it, and returns the file still open and not yet synced.
// On error the file is closed and removed.
//
// The copy goes in whole chunks of blobBufSize (io.ReadFull), so a body
// arriving in small reads still costs one write a chunk, and each chunk's
// writeback to disk starts as soon as it is written: the disk works while
// the next chunk is read and hashed, and the fsync that follows has little
// left to do. (A second goroutine was measured too, hashing the chunks or
// reading the body ahead into a second buffer: at 1 MiB 5-14% faster on an
// idle 2-core machine, but up to 30-40% slower when other processes wanted
// the CPUs, so neither is done: see BenchmarkPutHTTPVsFloor1MiB.)
func (b *BlobStore) spool(ctx context.Context, r io.Reader) (_ *os.File, h sum.Hash, n int64, err error) {
	f, err := b.createTemp("*" + partSuffix)
	if err != nil {
		return nil, h, 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bufp := b.getBuf()
	defer b.putBuf(bufp)
	buf := *bufp
	hw := sum.New()
	for {
		if err := ctx.Err(); err != nil {
			return nil, h, 0, err
		}
		nr, rerr := io.ReadFull(r, buf)
		if nr > 0 {
			if b.maxBytes > 0 && n+int64(nr) > b.maxBytes {
				return nil, h, 0, fmt.Errorf("%w: more than %d bytes", store.ErrTooLarge, b.maxBytes)
			}
			hw.Write(buf[:nr])
			if err := b.writeTemp(f, buf[:nr]); err != nil {
				return nil, h, 0, fmt.Errorf("write %s: %w", f.Name(), markNoSpace(err))
			}
			startWriteback(f, n, int64(nr))
			n += int64(nr)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return f, sum.FromDigest(hw.Sum(nil)), n, nil
		}
		if rerr != nil {
			return nil, h, 0, fmt.Errorf("read body: %w", rerr)
		}
	}
}

// createTemp creates a file in tmp/ named by pattern (as os.CreateTemp)
// and sets it to FileMode before anything is written, so that no change
// to the inode follows its fsync.
func (b *BlobStore) createTemp(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(b.tmp, pattern)
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", markNoSpace(err))
	}
	if err := f.Chmod(b.fileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("set mode of %s: %w", f.Name(), err)
	}
	return f, nil
}

// writeTemp writes p to an upload's temp file.
func (b *BlobStore) writeTemp(f *os.File, p []byte) error {
	if b.testWriteErr != nil {
		if err := b.testWriteErr(); err != nil {
			return &fs.PathError{Op: "write", Path: f.Name(), Err: err}
		}
	}
	_, err := f.Write(p)
	return err
}
