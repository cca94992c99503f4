package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Rows of the reliability table, in the order they are published. A test
// may record only these names, and RELIABILITY.md may publish only these.
const (
	rowKillServe     = "kill -9 apie-serve under concurrent writers"
	rowKillCGI       = "kill -9 apie-cgi processes mid-request"
	rowKillErase     = "kill -9 apie-serve during erases"
	rowFirstOpen     = "apie-cgi burst on a new data directory"
	rowStaleTemp     = "upload temp files left by kill -9"
	rowPowerServe    = "power loss under apie-serve, at random moments"
	rowPowerCounted  = "power loss under apie-serve, before and after each fsync"
	rowPowerCGI      = "power loss under apie-cgi processes"
	rowFullBlob      = "disk full: blob upload"
	rowFullAppend    = "disk full: event append"
	rowFullFreed     = "disk full, then space freed"
	rowReadOnly      = "read-only data directory (EROFS)"
	rowWrongOwner    = "data directory of another user"
	rowModes         = "file and directory modes"
	rowPasswdMissing = "passwd file missing"
	rowPasswdCorrupt = "passwd file corrupt"
	rowLogMiddle     = "log record damaged in the middle"
	rowLogLast       = "last log record damaged (not torn)"
	rowDamageShared  = "mid-log damage found by verify, seen by every process"
	rowDamageScrub   = "mid-log damage found by the background scrub"
	rowTornTail      = "torn, unacknowledged tail"
	rowIdxDamage     = "index file damaged"
	rowLostHashIdx   = "hash.idx deleted"
	rowLostIDIdx     = "id.idx deleted"
	rowLostSeqIdx    = "seq.idx deleted"
	rowLostAllIdx    = "all three indexes deleted"
	rowKillStreams   = "apie-serve SIGKILL'd during stream appends; stream index lost"
	rowTraversal     = "path traversal in URLs"
	rowBadNames      = "hostile blob filenames"
	rowHeaderInject  = "header injection through filename and content type"
	rowHugeHeaders   = "request headers over 64 KiB"
	rowBigBatch      = "batch of 10,001 events"
	rowBigBlob       = "blob over the size limit"
	rowSameBlob      = "same blob from 16 clients at once"
	rowSlowHeaders   = "100 slowloris connections"
	rowSlowBody      = "request body trickled"
	rowLoginSame     = "failed login: unknown user vs wrong password"
	rowLoginTiming   = "failed login timing"
	rowThrottle      = "repeated failed logins from one address"
	rowThrottleMem   = "failed logins from many addresses"
	rowCredsLog      = "credentials in the server log"
	rowSecrets       = "secrets and environment in responses"
)

var rowNames = []string{
	rowKillServe, rowKillCGI, rowKillErase, rowFirstOpen, rowStaleTemp,
	rowPowerServe, rowPowerCounted, rowPowerCGI,
	rowFullBlob, rowFullAppend, rowFullFreed,
	rowReadOnly, rowWrongOwner, rowModes, rowPasswdMissing, rowPasswdCorrupt,
	rowLogMiddle, rowLogLast, rowDamageShared, rowDamageScrub, rowTornTail, rowIdxDamage,
	rowLostHashIdx, rowLostIDIdx, rowLostSeqIdx, rowLostAllIdx, rowKillStreams,
	rowTraversal, rowBadNames, rowHeaderInject, rowHugeHeaders, rowBigBatch, rowBigBlob, rowSameBlob,
	rowSlowHeaders, rowSlowBody,
	rowLoginSame, rowLoginTiming, rowThrottle, rowThrottleMem, rowCredsLog, rowSecrets,
}

// row is one line of the reliability table.
type row struct {
	Fault  string // one of rowNames
	Done   string // what the test did
	Count  int    // how many times (requests, rounds, processes...)
	Result string // what happened, as checked
}

// recorder collects the rows the tests record. It is the one piece of
// package state tests write to (TestMain reads it after they ran), so it
// is safe for concurrent use.
type recorder struct {
	mu   sync.Mutex
	rows map[string]row
}

// table is where every test records its rows.
var table = &recorder{rows: make(map[string]row)}

// A pendingRow is a row a test has begun: it is recorded as passed with
// what the test checked, or, if the test fails or skips first, as failed
// or skipped, so the published table never claims what was not verified.
type pendingRow struct {
	t           testing.TB
	fault, done string
	passed      bool
}

// newRow begins the row fault (one of rowNames) for what the test does.
func newRow(t testing.TB, fault, done string) *pendingRow {
	t.Helper()
	if !slices.Contains(rowNames, fault) {
		t.Fatalf("newRow: %q is not a row of the reliability table (add it to rowNames)", fault)
	}
	p := &pendingRow{t: t, fault: fault, done: done}
	t.Cleanup(func() {
		switch {
		case p.passed:
		case t.Skipped():
			table.put(row{Fault: fault, Done: done, Result: "SKIPPED (needs root and Linux mounts; see the test log)"})
		default:
			table.put(row{Fault: fault, Done: done, Result: "FAILED: see go test -run '^" + t.Name() + "$' ./faults/"})
		}
	})
	return p
}

// pass records the row: count is how many times the fault was applied
// (requests, rounds, processes...), result what the checks established.
// Call it after the checks.
func (p *pendingRow) pass(count int, result string) {
	p.t.Helper()
	if p.t.Failed() {
		return // the cleanup records the failure
	}
	p.passed = true
	table.put(row{Fault: p.fault, Done: p.done, Count: count, Result: result})
	p.t.Logf("reliability: %s | %s | %d | %s", p.fault, p.done, count, result)
}

// put stores a row, replacing an earlier one of the same fault.
func (r *recorder) put(x row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows[x.Fault] = x
}

// markdown renders the table in rowNames order; it fails if a row was not
// recorded (a filtered or partial run must not publish a partial table).
func (r *recorder) markdown() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var missing []string
	for _, name := range rowNames {
		if _, ok := r.rows[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("reliability table: rows not recorded in this run: %q", missing)
	}
	var b bytes.Buffer
	b.WriteString("# apie — reliability\n\n")
	b.WriteString("What the fault tests in `faults/` tried against the real binaries, and what they\n")
	b.WriteString("checked. Written by `make reliability` from the rows the tests record; do not edit\n")
	b.WriteString("by hand (`TestReliabilityTable` checks every row here is one the tests still\n")
	b.WriteString("record). Counts and timings vary from run to run; the checks do not.\n\n")
	fmt.Fprintf(&b, "Run on %s/%s, %d CPUs, %s.\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	b.WriteString("| Fault | What was done | Count | Result |\n")
	b.WriteString("|---|---|---:|---|\n")
	for _, name := range rowNames {
		x := r.rows[name]
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", cell(x.Fault), cell(x.Done), x.Count, cell(x.Result))
	}
	b.WriteString("\nSee SECURITY.md for the threat model these tests stand behind.\n")
	return b.Bytes(), nil
}

// writeFile writes the table as Markdown to path.
func (r *recorder) writeFile(path string) error {
	md, err := r.markdown()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, md, 0o644); err != nil {
		return fmt.Errorf("write reliability table: %w", err)
	}
	return nil
}

// cell escapes a table cell: pipes would split it, newlines end the row.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// tableFaults returns the first column of every data row of a Markdown
// table written by markdown.
func tableFaults(md []byte) ([]string, error) {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(md))
	header := true
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !strings.HasPrefix(line, "|") {
			continue
		}
		if header { // the header row, then the separator row
			if strings.HasPrefix(line, "|---") {
				header = false
			}
			continue
		}
		first, _, ok := strings.Cut(strings.TrimPrefix(line, "|"), " | ")
		if !ok {
			return nil, fmt.Errorf("line %d: not a table row: %q", n, line)
		}
		names = append(names, strings.ReplaceAll(strings.TrimSpace(first), `\|`, "|"))
	}
	return names, sc.Err()
}

// TestReliabilityTable checks the published RELIABILITY.md against the
// rows the tests record: the same names, each once, in the same order.
func TestReliabilityTable(t *testing.T) {
	md, err := os.ReadFile("../RELIABILITY.md")
	if err != nil {
		t.Fatalf("read the published table: %v (run make reliability)", err)
	}
	got, err := tableFaults(md)
	if err != nil {
		t.Fatalf("parse RELIABILITY.md: %v", err)
	}
	for _, name := range got {
		if !slices.Contains(rowNames, name) {
			t.Errorf("RELIABILITY.md publishes row %q, which no test records", name)
		}
	}
	for _, name := range rowNames {
		if !slices.Contains(got, name) {
			t.Errorf("RELIABILITY.md lacks row %q, which the tests record (run make reliability)", name)
		}
	}
	if !slices.Equal(got, rowNames) && !t.Failed() {
		t.Errorf("RELIABILITY.md rows are out of order or repeated: got %q, want %q", got, rowNames)
	}
}

// TestTableRoundTrip checks that markdown and tableFaults agree, so the
// check above reads what the writer writes.
func TestTableRoundTrip(t *testing.T) {
	r := &recorder{rows: make(map[string]row)}
	for i, name := range rowNames {
		r.rows[name] = row{Fault: name, Done: "did | " + strconv.Itoa(i), Count: i, Result: "ok\nfine"}
	}
	md, err := r.markdown()
	if err != nil {
		t.Fatal(err)
	}
	got, err := tableFaults(md)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, rowNames) {
		t.Errorf("got %q, want %q", got, rowNames)
	}
	delete(r.rows, rowKillServe)
	if _, err := r.markdown(); err == nil {
		t.Errorf("markdown with a row missing: got nil error, want one naming %q", rowKillServe)
	}
}
