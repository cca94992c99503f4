package eventlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"apie/store"
)

// Reading records from the log file: one by its seq.idx span, or many in
// a stream whose memory does not grow with their number.

// maxRecordLine bounds one line of the log when scanning: a longer "line"
// can only be garbage (the event size limit is far below it).
const maxRecordLine = 64 << 20

// scanChunk is how many seq.idx entries a scan reads at a time.
const scanChunk = 4096

var errLineTooLong = errors.New("line longer than any record")

// readLine returns the next line of br with its '\n'. The slice is valid
// until the next call. io.EOF (or io.ErrUnexpectedEOF after a partial line)
// means no complete line is left.
func readLine(br *bufio.Reader, buf *[]byte) ([]byte, error) {
	*buf = (*buf)[:0]
	for {
		frag, err := br.ReadSlice('\n')
		switch {
		case err == nil && len(*buf) == 0:
			return frag, nil
		case err == nil:
			*buf = append(*buf, frag...)
			return *buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			*buf = append(*buf, frag...)
			if len(*buf) > maxRecordLine {
				return nil, errLineTooLong
			}
		case errors.Is(err, io.EOF) && len(*buf)+len(frag) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// readRecord returns record seq (≥ 1) of the log without its '\n', and the
// offset where it starts.
func readRecord(files logFiles, seq uint64) ([]byte, int64, error) {
	start, end, err := files.seq.span(seq)
	if err != nil {
		return nil, 0, err
	}
	b := make([]byte, end-start)
	if _, err := files.log.ReadAt(b, start); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, start, &store.CorruptionError{Path: files.log.Name(), Offset: start, Seq: seq,
				Reason: fmt.Sprintf("seq.idx says the record ends at %d, past the end of the log", end)}
		}
		return nil, start, fmt.Errorf("read record %d of %s: %w", seq, files.log.Name(), err)
	}
	if b[len(b)-1] != '\n' {
		return nil, start, &store.CorruptionError{Path: files.log.Name(), Offset: end - 1, Seq: seq,
			Reason: "record does not end with a newline where seq.idx says it ends"}
	}
	return trimPad(b[:len(b)-1]), start, nil
}

// forEachRecord calls fn with records first..last (1 ≤ first, last ≤ the
// committed count) in order: their seq, bytes (without '\n', valid only
// during the call) and start offset. It checks every record ends where
// seq.idx says; a mismatch is a *store.CorruptionError. It stops at fn's first
// error and returns it, and checks ctx every scanChunk records.
func forEachRecord(ctx context.Context, files logFiles, first, last uint64, fn func(seq uint64, rec []byte, off int64) error) error {
	if first > last {
		return nil
	}
	start, err := files.seq.end(first - 1)
	if err != nil {
		return err
	}
	end, err := files.seq.end(last)
	if err != nil {
		return err
	}
	if end < start {
		return &store.CorruptionError{Path: files.seq.path, Offset: int64(last-1) * 8, Seq: last,
			Reason: fmt.Sprintf("entry %d is before entry %d's %d", end, first-1, start)}
	}
	br := bufio.NewReaderSize(io.NewSectionReader(files.log, start, end-start), 256<<10)
	ends := make([]int64, scanChunk)
	var buf []byte
	pos := start
	for s := first; s <= last; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(uint64(scanChunk), last-s+1)
		if err := files.seq.ends(s, ends[:n]); err != nil {
			return err
		}
		for i := uint64(0); i < n; i, s = i+1, s+1 {
			line, err := readLine(br, &buf)
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errLineTooLong) {
					return &store.CorruptionError{Path: files.log.Name(), Offset: pos, Seq: s,
						Reason: fmt.Sprintf("record is not a complete line before offset %d", end), Err: err}
				}
				return fmt.Errorf("read %s at %d: %w", files.log.Name(), pos, err)
			}
			next := pos + int64(len(line))
			if next != ends[i] {
				return &store.CorruptionError{Path: files.seq.path, Offset: int64(s-1) * 8, Seq: s,
					Reason: fmt.Sprintf("entry says record %d ends at %d but it ends at %d", s, ends[i], next)}
			}
			if err := fn(s, trimPad(line[:len(line)-1]), pos); err != nil {
				return err
			}
			pos = next
		}
	}
	return nil
}

// statSize returns the size of an open file.
func statSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	return fi.Size(), nil
}
