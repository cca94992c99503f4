package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// diskPerEvent measures what the big log's directory holds per event,
// file by file: the apparent size and the blocks allocated (the indexes
// are sparse), divided by the committed count (size of seq.idx / 8). It
// adds a row for the total and a section with the split.
func (b *bench) diskPerEvent(in *instance) error {
	seq, err := os.Stat(filepath.Join(in.events, "seq.idx"))
	if err != nil {
		return fmt.Errorf("disk per event: %w", err)
	}
	n := seq.Size() / 8
	if n == 0 {
		return fmt.Errorf("disk per event: empty log")
	}
	ents, err := os.ReadDir(in.events)
	if err != nil {
		return fmt.Errorf("disk per event: %w", err)
	}
	var body strings.Builder
	fmt.Fprintf(&body, "The big log's directory after the run: %s events, each a request body of %d bytes (`appendEvent`). "+
		"Allocated bytes are st_blocks × 512 (the hash indexes are sparse files: an unused slot costs no disk until its 4 KiB page is touched).\n\n",
		group(n), len(appendEvent(1_000_000)))
	body.WriteString("| file | bytes per event (apparent) | bytes per event (allocated on disk) | what it buys |\n|---|---|---|---|\n")
	var total, totalAlloc int64
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		alloc := fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			alloc = st.Blocks * 512
		}
		total += fi.Size()
		totalAlloc += alloc
		fmt.Fprintf(&body, "| %s | %.1f | %.1f | %s |\n", e.Name(), float64(fi.Size())/float64(n), float64(alloc)/float64(n), diskPurpose(e.Name()))
	}
	fmt.Fprintf(&body, "| **all** | **%.1f** | **%.1f** | |\n", float64(total)/float64(n), float64(totalAlloc)/float64(n))
	b.rep.sections = append(b.rep.sections, section{"Disk bytes per event", body.String()})
	b.rep.add(fmt.Sprintf("disk per event at %s events (log + seq.idx + hash.idx + id.idx), %d-byte request bodies", group(n), len(appendEvent(1_000_000))),
		fmt.Sprintf("%.0f bytes allocated (%.0f apparent)", float64(totalAlloc)/float64(n), float64(total)/float64(n)), "", "")
	return nil
}

// diskPurpose says what a file of the log directory is for.
func diskPurpose(name string) string {
	switch name {
	case "log":
		return "the events themselves as JCS NDJSON: body, eventType, eventId, createdAt, createdBy, seq and three hex SHA-256 hashes (bodyHash, prevHash, hash): a read is a byte copy and every record verifies on its own"
	case "seq.idx":
		return "8 bytes: seq → offset, so any seq or range is one pread, and the committed count is the file size"
	case "hash.idx":
		return "GET /events/<hash> and ?after=<hash> in O(1) at any log size (16-byte slots, at most half full)"
	case "id.idx":
		return "idempotent retries by eventId in O(1) (16-byte slots, at most half full)"
	}
	return "fixed size"
}
