package eventlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// stableChunk is how much a range read reads at a time (more when one
// record is longer).
const stableChunk = 64 << 10

// stableReader streams a byte range of the log through its own file, in
// chunks of whole records, each read under the erase generation's
// seqlock (stableRead): a record an erase overwrites is seen whole,
// before or after, never torn. (It cannot hand the file to sendfile(2):
// the bytes must be checked after they are read and before they are
// sent.)
type stableReader struct {
	l          *EventLog
	ctx        context.Context
	f          *os.File
	start, end int64 // the range in the file
	pos        int64 // offset in the range of buf's end
	buf        []byte
	off        int // read position in buf
}

func newStableReader(ctx context.Context, l *EventLog, f *os.File, start, end int64) *stableReader {
	return &stableReader{l: l, ctx: context.WithoutCancel(ctx), f: f, start: start, end: end}
}

// Size is the length of the range in bytes.
func (r *stableReader) Size() int64 { return r.end - r.start }

// Read reads the range.
func (r *stableReader) Read(p []byte) (int, error) {
	if r.off >= len(r.buf) {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// WriteTo copies the rest of the range to w, chunk by chunk.
func (r *stableReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.off >= len(r.buf) {
			if err := r.fill(); errors.Is(err, io.EOF) {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(r.buf[r.off:])
		r.off += n
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Seek sets the position in the range.
func (r *stableReader) Seek(offset int64, whence int) (int64, error) {
	cur := r.pos - int64(len(r.buf)-r.off)
	switch whence {
	case io.SeekCurrent:
		offset += cur
	case io.SeekEnd:
		offset += r.Size()
	case io.SeekStart:
	default:
		return cur, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return cur, errors.New("seek: negative position")
	}
	r.pos, r.buf, r.off = offset, r.buf[:0], 0
	return offset, nil
}

// Close closes the reader's file.
func (r *stableReader) Close() error { return r.f.Close() }

// fill reads the next chunk of whole records into buf.
func (r *stableReader) fill() error {
	left := r.Size() - r.pos
	if left <= 0 {
		return io.EOF
	}
	size := min(int64(stableChunk), left)
	for {
		if int64(cap(r.buf)) < size {
			r.buf = make([]byte, size)
		}
		buf := r.buf[:size]
		err := r.l.stableRead(r.ctx, func() error {
			_, err := r.f.ReadAt(buf, r.start+r.pos)
			return err
		})
		if err != nil {
			return fmt.Errorf("read %s at %d: %w", r.f.Name(), r.start+r.pos, err)
		}
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i+1]
		} else if size < left {
			size = min(2*size, left) // one record longer than the chunk
			continue
		}
		r.buf, r.off = buf, 0
		r.pos += int64(len(buf))
		return nil
	}
}
