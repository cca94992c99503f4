package eventlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"

	"apie/store"
	"apie/sum"
)

// hashIndex is one on-disk hash index (hash.idx or id.idx): levels of
// open-addressing tables whose entries never move (see doc.go). Inserts
// are made only by the holder of the writer lock; lookups by anyone.
type hashIndex struct {
	path string
	kind indexKind
	f    *os.File
}

// windowSlots is how many slots one probe step reads (256 bytes).
const windowSlots = 16

// levelOf returns the level that holds seq (≥ 1) in an index whose level 0
// has c slots: level k holds the seqs in (c/2·(2^k−1), c/2·(2^(k+1)−1)].
func levelOf(seq, c uint64) int {
	m := (seq - 1) / (c / 2)
	return bits.Len64(m+1) - 1
}

// levelSeqs returns the range (lo, hi] of seqs that level k holds.
func levelSeqs(k int, c uint64) (lo, hi uint64) {
	h := c / 2
	return h * (1<<k - 1), h * (1<<(k+1) - 1)
}

// levelOffset returns the byte offset of level k's first slot.
func levelOffset(k int, c uint64) int64 {
	return indexHeaderSize + indexSlotSize*int64(c)*int64(1<<k-1)
}

// keyPrefix returns the part of a key stored in a slot, as an integer.
func keyPrefix(key sum.Hash) uint64 { return binary.LittleEndian.Uint64(key[:8]) }

// readHeader reads and checks the index's header.
func (x *hashIndex) readHeader() (indexHeader, error) {
	b := make([]byte, indexHeaderUsed)
	n, err := x.f.ReadAt(b, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n < len(b)) {
		return indexHeader{}, fmt.Errorf("read header of %s: %w", x.path, err)
	}
	h, err := parseIndexHeader(b[:n], x.kind)
	if err != nil {
		return indexHeader{}, fmt.Errorf("%s: %w", x.path, err)
	}
	return h, nil
}

// writeHeader overwrites the index's header with h.
func (x *hashIndex) writeHeader(h indexHeader) error {
	if _, err := x.f.WriteAt(h.marshal(), 0); err != nil {
		return fmt.Errorf("write header of %s: %w", x.path, err)
	}
	return nil
}

// reset empties the index and gives it a fresh header with level-0 size c
// and nothing covered. The caller holds the writer lock.
func (x *hashIndex) reset(c uint64, bootID string) (indexHeader, error) {
	if err := x.f.Truncate(0); err != nil {
		return indexHeader{}, fmt.Errorf("empty %s: %w", x.path, err)
	}
	h := indexHeader{kind: x.kind, slots: c, bootID: bootID}
	if err := x.writeHeader(h); err != nil {
		return indexHeader{}, err
	}
	return h, nil
}

// readSlots fills b with the slots at byte offset off; bytes past the end
// of the file read as empty slots.
func (x *hashIndex) readSlots(b []byte, off int64) error {
	n, err := x.f.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s at %d: %w", x.path, off, err)
	}
	clear(b[n:])
	return nil
}

// insert records that key maps to seq, in the level of seq. It is
// idempotent: finding (prefix, seq) already on the probe path ends it.
// One 16-byte pwrite; nothing is fsync'd.
func (x *hashIndex) insert(c uint64, key sum.Hash, seq uint64) error {
	k := levelOf(seq, c)
	size := c << k
	base := levelOffset(k, c)
	p := keyPrefix(key)
	slot := p & (size - 1)
	var buf [windowSlots * indexSlotSize]byte
	for probed := uint64(0); probed < size; {
		w := min(windowSlots, size-slot)
		b := buf[:w*indexSlotSize]
		if err := x.readSlots(b, base+int64(slot)*indexSlotSize); err != nil {
			return err
		}
		for i := uint64(0); i < w && probed < size; i, probed = i+1, probed+1 {
			s := b[i*indexSlotSize:]
			sp, ss := binary.LittleEndian.Uint64(s[0:8]), binary.LittleEndian.Uint64(s[8:16])
			if ss == 0 {
				var e [indexSlotSize]byte
				binary.LittleEndian.PutUint64(e[0:8], p)
				binary.LittleEndian.PutUint64(e[8:16], seq)
				off := base + int64(slot+i)*indexSlotSize
				if _, err := x.f.WriteAt(e[:], off); err != nil {
					return fmt.Errorf("insert into %s at %d: %w", x.path, off, err)
				}
				return nil
			}
			if sp == p && ss == seq {
				return nil
			}
		}
		slot = (slot + w) & (size - 1)
	}
	return &store.CorruptionError{Path: x.path, Offset: base, Seq: seq,
		Reason: fmt.Sprintf("level %d of the index is full", k)}
}

// probe calls fn with every seq in [1, maxSeq] that the index stores under
// key's prefix, newest level first, until fn returns true (then probe
// returns true). Slots whose seq does not belong to their level are stray
// and skipped.
func (x *hashIndex) probe(c uint64, key sum.Hash, maxSeq uint64, fn func(seq uint64) (bool, error)) (bool, error) {
	if maxSeq == 0 {
		return false, nil
	}
	p := keyPrefix(key)
	var buf [windowSlots * indexSlotSize]byte
	for k := levelOf(maxSeq, c); k >= 0; k-- {
		if ok, err := x.probeLevel(c, k, p, 1, maxSeq, buf[:], fn); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// probeLevel walks level k's open-addressing run for prefix p, a window
// of slots at a time read into buf, and calls fn with each seq in
// [minSeq, maxSeq] stored there under p until fn returns true (then
// probeLevel returns true). The run ends at the first empty slot or once
// every slot of the level is seen; a slot whose seq does not belong to
// level k is stray and skipped.
func (x *hashIndex) probeLevel(c uint64, k int, p, minSeq, maxSeq uint64, buf []byte, fn func(seq uint64) (bool, error)) (bool, error) {
	lo, hi := levelSeqs(k, c)
	size := c << k
	base := levelOffset(k, c)
	slot := p & (size - 1)
	for probed := uint64(0); probed < size; {
		w := min(windowSlots, size-slot)
		b := buf[:w*indexSlotSize]
		if err := x.readSlots(b, base+int64(slot)*indexSlotSize); err != nil {
			return false, err
		}
		for i := uint64(0); i < w && probed < size; i, probed = i+1, probed+1 {
			s := b[i*indexSlotSize:]
			sp, ss := binary.LittleEndian.Uint64(s[0:8]), binary.LittleEndian.Uint64(s[8:16])
			if ss == 0 {
				return false, nil
			}
			if sp != p || ss <= lo || ss > hi || ss < minSeq || ss > maxSeq {
				continue
			}
			ok, err := fn(ss)
			if err != nil || ok {
				return ok, err
			}
		}
		slot = (slot + w) & (size - 1)
	}
	return false, nil
}
