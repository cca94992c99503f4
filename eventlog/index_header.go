package eventlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strings"
	"sync"
)

// The header of hash.idx and id.idx (see doc.go for the byte layout).

const (
	indexMagic      = "apie-idx"
	indexVersion    = 1
	indexHeaderSize = 4096 // level 0 starts here
	indexHeaderUsed = 92   // bytes of the header that carry data
	indexBootIDMax  = 47
	indexSlotSize   = 16

	// defaultIndexSlots is C, the slot count of level 0: 1 MiB of sparse file.
	defaultIndexSlots = 65536

	// checkpointEvery is how many inserted events may go without an fsync of
	// the indexes before the writer checkpoints them.
	checkpointEvery = 4096
)

// indexKind says which key an index file maps; it is stored in the header
// so that hash.idx and id.idx cannot be swapped unnoticed.
type indexKind uint32

const (
	kindHash indexKind = 1 // key = SHA-256(event hash bytes)
	kindID   indexKind = 2 // key = SHA-256(eventId)
)

func (k indexKind) String() string {
	switch k {
	case kindHash:
		return "hash.idx"
	case kindID:
		return "id.idx"
	case kindStream:
		return streamIdxName
	case kindStreams:
		return streamsName
	}
	return fmt.Sprintf("index kind %d", uint32(k))
}

// crc32c builds the CRC-32C table on first use, not at package init: a
// CGI process that never reads an index header should not pay for it.
var crc32c = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// errBadIndexHeader means an index file's header is missing or unreadable;
// the writer rebuilds the index from the log.
var errBadIndexHeader = errors.New("bad index header")

// indexHeader is the decoded header of an index file.
type indexHeader struct {
	kind    indexKind
	slots   uint64 // C
	covered uint64
	synced  uint64
	bootID  string
}

// marshal encodes h into the first indexHeaderUsed bytes of a header.
func (h indexHeader) marshal() []byte {
	b := make([]byte, indexHeaderUsed)
	copy(b[0:8], indexMagic)
	binary.LittleEndian.PutUint32(b[8:12], indexVersion)
	binary.LittleEndian.PutUint32(b[12:16], uint32(h.kind))
	binary.LittleEndian.PutUint64(b[16:24], h.slots)
	binary.LittleEndian.PutUint64(b[24:32], h.covered)
	binary.LittleEndian.PutUint64(b[32:40], h.synced)
	id := h.bootID
	if len(id) > indexBootIDMax {
		id = id[:indexBootIDMax]
	}
	b[40] = byte(len(id))
	copy(b[41:41+indexBootIDMax], id)
	binary.LittleEndian.PutUint32(b[88:92], crc32.Checksum(b[:88], crc32c()))
	return b
}

// parseIndexHeader decodes a header, checking magic, version, checksum and
// that it is the header of an index of the wanted kind.
func parseIndexHeader(b []byte, want indexKind) (indexHeader, error) {
	if len(b) < indexHeaderUsed {
		return indexHeader{}, fmt.Errorf("%w: %d bytes, want %d", errBadIndexHeader, len(b), indexHeaderUsed)
	}
	if string(b[0:8]) != indexMagic {
		return indexHeader{}, fmt.Errorf("%w: magic %q, want %q", errBadIndexHeader, b[0:8], indexMagic)
	}
	if got, want := binary.LittleEndian.Uint32(b[88:92]), crc32.Checksum(b[:88], crc32c()); got != want {
		return indexHeader{}, fmt.Errorf("%w: checksum %08x, want %08x", errBadIndexHeader, got, want)
	}
	if v := binary.LittleEndian.Uint32(b[8:12]); v != indexVersion {
		return indexHeader{}, fmt.Errorf("%w: version %d, want %d", errBadIndexHeader, v, indexVersion)
	}
	h := indexHeader{
		kind:    indexKind(binary.LittleEndian.Uint32(b[12:16])),
		slots:   binary.LittleEndian.Uint64(b[16:24]),
		covered: binary.LittleEndian.Uint64(b[24:32]),
		synced:  binary.LittleEndian.Uint64(b[32:40]),
	}
	if h.kind != want {
		return indexHeader{}, fmt.Errorf("%w: holds %s, want %s", errBadIndexHeader, h.kind, want)
	}
	if h.slots < 2 || h.slots&(h.slots-1) != 0 || h.slots > 1<<40 {
		return indexHeader{}, fmt.Errorf("%w: level-0 size %d is not a power of two", errBadIndexHeader, h.slots)
	}
	n := int(b[40])
	if n > indexBootIDMax {
		return indexHeader{}, fmt.Errorf("%w: boot id length %d", errBadIndexHeader, n)
	}
	h.bootID = string(b[41 : 41+n])
	return h, nil
}

// trusted returns the highest seq whose entry the index is known to hold:
// covered if it was written during this boot of the machine (so the page
// cache still held every insert before it), else synced.
func (h indexHeader) trusted(bootID string) uint64 {
	if bootID != "" && h.bootID == bootID {
		return max(h.covered, h.synced)
	}
	return h.synced
}

// readBootID returns the Linux boot id, or "" where it cannot be read (then
// only fsync'd index entries are trusted after a restart).
func readBootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
