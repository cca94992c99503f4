package consumerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"apie/store"
	"apie/sum"
)

// The slot file's geometry (see doc.go).
const (
	slotSize = 512
	pairSize = 2 * slotSize

	offCRC       = 0
	offGen       = 4
	offKind      = 12
	offNameLen   = 13
	offByLen     = 14
	offSeq       = 16
	offUpdatedAt = 24
	offAfter     = 32
	offName      = 64
	offBy        = 192
	offReserved  = 448

	// maxUpdatedBy is the longest updatedBy a slot holds.
	maxUpdatedBy = offReserved - offBy
)

// Slot kinds.
const (
	kindConsumer = 1 // a consumer's position
	kindFree     = 2 // a free pair: formatted, or its consumer deleted
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// slot is one decoded slot.
type slot struct {
	gen  uint64
	kind byte
	c    store.Consumer // for kindConsumer
}

// slotState is what a slot's bytes are.
type slotState int

const (
	slotEmpty slotState = iota // all zero: never written
	slotValid                  // its checksum and fields hold
	slotBad                    // anything else: torn or damaged
)

// encodeSlot writes s into b (slotSize bytes).
func encodeSlot(b []byte, s slot) error {
	clear(b[:slotSize])
	binary.LittleEndian.PutUint64(b[offGen:], s.gen)
	b[offKind] = s.kind
	if s.kind == kindConsumer {
		c := s.c
		if len(c.UpdatedBy) > maxUpdatedBy {
			return fmt.Errorf("updatedBy of %d bytes is over the limit of %d", len(c.UpdatedBy), maxUpdatedBy)
		}
		if err := store.CheckConsumerName(c.Name); err != nil {
			return err
		}
		b[offNameLen] = byte(len(c.Name))
		binary.LittleEndian.PutUint16(b[offByLen:], uint16(len(c.UpdatedBy)))
		binary.LittleEndian.PutUint64(b[offSeq:], c.Seq)
		binary.LittleEndian.PutUint64(b[offUpdatedAt:], uint64(c.UpdatedAt.UnixNano()))
		copy(b[offAfter:offAfter+sum.Size], c.After[:])
		copy(b[offName:], c.Name)
		copy(b[offBy:], c.UpdatedBy)
	}
	binary.LittleEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offGen:slotSize], castagnoli))
	return nil
}

// decodeSlot reads one slot's bytes (slotSize of them). A slot is valid
// only if its checksum matches and every field is well-formed.
func decodeSlot(b []byte) (slot, slotState, error) {
	b = b[:slotSize]
	if allZero(b) {
		return slot{}, slotEmpty, nil
	}
	if got, want := crc32.Checksum(b[offGen:], castagnoli), binary.LittleEndian.Uint32(b[offCRC:]); got != want {
		return slot{}, slotBad, fmt.Errorf("checksum %08x, the slot says %08x", got, want)
	}
	s := slot{gen: binary.LittleEndian.Uint64(b[offGen:]), kind: b[offKind]}
	if !allZero(b[offReserved:]) {
		return slot{}, slotBad, errors.New("reserved bytes are not zero")
	}
	switch s.kind {
	case kindFree:
		if !allZero(b[offNameLen:offReserved]) {
			return slot{}, slotBad, errors.New("a free slot with fields set")
		}
		return s, slotValid, nil
	case kindConsumer:
	default:
		return slot{}, slotBad, fmt.Errorf("unknown kind %d", s.kind)
	}
	nameLen, byLen := int(b[offNameLen]), int(binary.LittleEndian.Uint16(b[offByLen:]))
	if nameLen > offBy-offName || byLen > maxUpdatedBy {
		return slot{}, slotBad, errors.New("field lengths out of range")
	}
	if !allZero(b[offName+nameLen:offBy]) || !allZero(b[offBy+byLen:offReserved]) {
		return slot{}, slotBad, errors.New("bytes after the name or updatedBy are not zero")
	}
	name := string(b[offName : offName+nameLen])
	if err := store.CheckConsumerName(name); err != nil {
		return slot{}, slotBad, fmt.Errorf("name %q: %w", name, err)
	}
	s.c = store.Consumer{
		Name:      name,
		Seq:       binary.LittleEndian.Uint64(b[offSeq:]),
		UpdatedAt: time.Unix(0, int64(binary.LittleEndian.Uint64(b[offUpdatedAt:]))).UTC(),
		UpdatedBy: string(b[offBy : offBy+byLen]),
	}
	copy(s.c.After[:], b[offAfter:offAfter+sum.Size])
	if (s.c.Seq == 0) != (s.c.After == sum.Genesis) {
		return slot{}, slotBad, fmt.Errorf("seq %d does not go with hash %s", s.c.Seq, s.c.After)
	}
	return s, slotValid, nil
}

// pair is a decoded pair of slots: what the pair holds and which slot the
// next write goes to.
type pair struct {
	index int64
	live  bool           // it holds a consumer
	c     store.Consumer // the consumer, when live
	// damaged: neither slot is valid and neither is empty. name is then
	// the consumer's name if a slot still shows one, reason says why.
	damaged bool
	name    string
	reason  string
	fresh   bool   // both slots empty: never used
	next    int    // the slot (0 or 1) a write goes to: the older one
	gen     uint64 // the gen a write there takes
	badSlot int    // how many slots failed their checksum (torn or damaged)
}

// decodePair reads the pair at index from its bytes (pairSize of them).
func decodePair(index int64, b []byte) pair {
	p := pair{index: index}
	var s [2]slot
	var st [2]slotState
	var errs [2]error
	for i := range s {
		s[i], st[i], errs[i] = decodeSlot(b[i*slotSize : (i+1)*slotSize])
		if st[i] == slotBad {
			p.badSlot++
		}
	}
	switch {
	case st[0] == slotValid && st[1] == slotValid:
		newer := 0
		if s[1].gen > s[0].gen {
			newer = 1
		}
		p.use(s[newer])
		p.next, p.gen = 1-newer, s[newer].gen+1
	case st[0] == slotValid || st[1] == slotValid:
		good := 0
		if st[1] == slotValid {
			good = 1
		}
		p.use(s[good])
		p.next, p.gen = 1-good, s[good].gen+1
		if p.live && st[1-good] == slotEmpty {
			p.badSlot++ // a consumer's pair never has an empty slot: zeroed
		}
	case st[0] == slotEmpty && st[1] == slotEmpty:
		p.fresh = true
	case st[0] == slotEmpty || st[1] == slotEmpty:
		// A torn first write of a new pair (its formatting, see doc.go):
		// the pair was never used, and is written afresh.
		p.fresh = true
	default:
		p.damaged = true
		p.name = nameIn(b)
		p.reason = fmt.Sprintf("both slots fail their check (%v; %v)", errs[0], errs[1])
	}
	return p
}

func (p *pair) use(s slot) {
	if s.kind == kindConsumer {
		p.live, p.c = true, s.c
	}
}

// free reports whether a new consumer may take the pair.
func (p *pair) free() bool { return !p.live && !p.damaged }

// nameIn returns the consumer name that either slot of a damaged pair
// still shows, or "".
func nameIn(b []byte) string {
	for i := 0; i < 2; i++ {
		s := b[i*slotSize : (i+1)*slotSize]
		n := int(s[offNameLen])
		if s[offKind] != kindConsumer || n > offBy-offName {
			continue
		}
		name := string(s[offName : offName+n])
		if store.CheckConsumerName(name) == nil {
			return name
		}
	}
	return ""
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
