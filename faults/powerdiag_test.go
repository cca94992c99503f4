package faults

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Diagnostics of a failed power-loss round: what the restarted
// apie-serve warned about, and the state of the event log's files, so
// that a failure names the damage's reason, file and offset.

// warnings returns the WARN and ERROR lines of out (apie-serve's log).
func warnings(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// diagnose describes the restarted apie-serve's warnings (srv may be
// nil) and the event log's files: their sizes, the damage marker, the
// seq.idx entries and log lines around the seq it names. If
// APIE_POWER_KEEP names a directory, the store is copied there too.
func (r *powerRig) diagnose(srv *server) string {
	var b strings.Builder
	if srv != nil {
		fmt.Fprintf(&b, "apie-serve warnings:\n%s", warnings(srv.Output.String()))
	}
	dir := r.s.path("events")
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				fmt.Fprintf(&b, "%s: %d bytes\n", strings.TrimPrefix(p, dir+"/"), fi.Size())
			}
		}
		return nil
	})
	for _, name := range []string{"damaged", "erasing", "erase.gen"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			fmt.Fprintf(&b, "%s: %q\n", name, data)
		}
	}
	b.WriteString(r.logAround(dir))
	if keep := os.Getenv("APIE_POWER_KEEP"); keep != "" {
		dst := filepath.Join(keep, fmt.Sprintf("%s-%d", r.id, r.boots))
		out, err := exec.Command("cp", "-a", r.s.dir, dst).CombinedOutput()
		fmt.Fprintf(&b, "store copied to %s (%v %s)\n", dst, err, out)
	}
	return b.String()
}

// logAround shows the seq.idx entries and the log's lines around the
// seq the damage marker names.
func (r *powerRig) logAround(dir string) string {
	marker, err := os.ReadFile(filepath.Join(dir, "damaged"))
	if err != nil {
		return ""
	}
	_, rest, ok := bytes.Cut(marker, []byte(`"seq":`))
	if !ok {
		return ""
	}
	end := bytes.IndexAny(rest, ",}")
	seq, err := strconv.ParseUint(string(rest[:max(end, 0)]), 10, 64)
	if err != nil || seq == 0 {
		return ""
	}
	idx, err1 := os.ReadFile(filepath.Join(dir, "seq.idx"))
	log, err2 := os.ReadFile(filepath.Join(dir, "log"))
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("seq.idx: %v, log: %v\n", err1, err2)
	}
	var b strings.Builder
	prev := int64(0)
	for s := uint64(1); s <= uint64(len(idx)/8); s++ {
		e := int64(binary.LittleEndian.Uint64(idx[(s-1)*8:]))
		if s+3 >= seq && s <= seq+3 {
			line := ""
			if prev <= e && e <= int64(len(log)) {
				line = string(log[prev:e])
			}
			fmt.Fprintf(&b, "seq %d: seq.idx end %d, log[%d:%d] = %.300q\n", s, e, prev, e, line)
		}
		prev = e
	}
	if prev < int64(len(log)) {
		fmt.Fprintf(&b, "log past the last seq.idx entry (%d bytes) = %.600q\n", int64(len(log))-prev, log[prev:])
	}
	return b.String()
}
