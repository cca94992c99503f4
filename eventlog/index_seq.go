package eventlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"apie/store"
)

// seqIndex is seq.idx: entry i (8 bytes, little-endian) is the end offset
// in the log of the record with seq i. Its length is the committed count.
type seqIndex struct {
	path string
	f    *os.File
}

// size returns the file's length in bytes (possibly with a partial entry).
func (s *seqIndex) size() (int64, error) {
	fi, err := s.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", s.path, err)
	}
	return fi.Size(), nil
}

// count returns the number of committed events: the complete entries.
func (s *seqIndex) count() (uint64, error) {
	n, err := s.size()
	if err != nil {
		return 0, err
	}
	return uint64(n) / 8, nil
}

// ends reads entries first..first+len(dst)-1 (seqs, 1-based) into dst.
// Entry 0 reads as offset 0.
func (s *seqIndex) ends(first uint64, dst []int64) error {
	i := 0
	if first == 0 && len(dst) > 0 {
		dst[0] = 0
		i, first = 1, 1
	}
	if i == len(dst) {
		return nil
	}
	b := make([]byte, 8*(len(dst)-i))
	off := int64(first-1) * 8
	if _, err := s.f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("read %s at %d: %w", s.path, off, err)
	}
	for j := i; j < len(dst); j++ {
		v := binary.LittleEndian.Uint64(b[8*(j-i):])
		if v > math.MaxInt64 {
			return &store.CorruptionError{Path: s.path, Offset: off + int64(8*(j-i)), Seq: first + uint64(j-i),
				Reason: fmt.Sprintf("entry %d is out of range", v)}
		}
		dst[j] = int64(v)
	}
	return nil
}

// end returns entry seq: the end offset of record seq (0 for seq 0).
func (s *seqIndex) end(seq uint64) (int64, error) {
	var e [1]int64
	err := s.ends(seq, e[:])
	return e[0], err
}

// span returns the byte range [start, end) of record seq (≥ 1) in the log,
// '\n' included.
func (s *seqIndex) span(seq uint64) (start, end int64, err error) {
	var e [2]int64
	if err := s.ends(seq-1, e[:]); err != nil {
		return 0, 0, err
	}
	if e[1] <= e[0] {
		return 0, 0, &store.CorruptionError{Path: s.path, Offset: int64(seq-1) * 8, Seq: seq,
			Reason: fmt.Sprintf("record ends at %d, not after its start %d", e[1], e[0])}
	}
	return e[0], e[1], nil
}

// appendEnds writes the entries of seqs count+1, count+2, ... in one
// pwrite. Nothing is fsync'd.
func (s *seqIndex) appendEnds(count uint64, ends []int64) error {
	b := make([]byte, 8*len(ends))
	for i, e := range ends {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(e))
	}
	if _, err := s.f.WriteAt(b, int64(count)*8); err != nil {
		return fmt.Errorf("append to %s: %w", s.path, err)
	}
	return nil
}

// truncate cuts the index to count entries.
func (s *seqIndex) truncate(count uint64) error {
	if err := s.f.Truncate(int64(count) * 8); err != nil {
		return fmt.Errorf("truncate %s to %d entries: %w", s.path, count, err)
	}
	return nil
}
