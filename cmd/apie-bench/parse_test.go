package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	ms := func(v ...int) samples {
		var s samples
		for _, x := range v {
			s = append(s, time.Duration(x)*time.Millisecond)
		}
		return s
	}
	tests := []struct {
		name     string
		s        samples
		p50, p99 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"unsorted", ms(5, 1, 4, 2, 3), 3 * time.Millisecond, 5 * time.Millisecond},
		{"even count takes the lower middle", ms(4, 1, 3, 2), 2 * time.Millisecond, 4 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.p50(); got != tt.p50 {
				t.Errorf("p50: got %q, want %q", got, tt.p50)
			}
			if got := tt.s.p99(); got != tt.p99 {
				t.Errorf("p99: got %q, want %q", got, tt.p99)
			}
		})
	}
	s := ms(3, 1, 2)
	s.p50()
	if s[0] != 3*time.Millisecond {
		t.Errorf("pct sorted its receiver: got %v, want it unchanged", s)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{fmtDur(532 * time.Microsecond), "532 µs"},
		{fmtDur(1234 * time.Microsecond), "1.23 ms"},
		{fmtDur(45600 * time.Microsecond), "45.6 ms"},
		{fmtDur(123 * time.Millisecond), "123 ms"},
		{fmtDur(2500 * time.Millisecond), "2.50 s"},
		{group(0), "0"},
		{group(999), "999"},
		{group(1000), "1,000"},
		{group(1234567), "1,234,567"},
		{group(-1234), "-1,234"},
		{fmtRate(1234.4, "events"), "1,234 events/s"},
		{fmtMBps(1.5e9), "1500 MB/s"},
		{fmtMBps(12.34e6), "12.3 MB/s"},
		{fmtMiB(3 << 20), "3.0 MiB"},
		{fmtRatio(1.234), "1.23×"},
		{fmtRatio(12.34), "12.3×"},
		{fmtRatio(perSec(1, 0)), "—"},
		{mdEscape("a|b\nc"), `a\|b c`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestEventHashes(t *testing.T) {
	h1 := strings.Repeat("a", 64)
	h2 := strings.Repeat("b", 64)
	body := `[{"body":{"i":1},"bodyHash":"` + strings.Repeat("c", 64) + `","hash":"` + h1 + `","prevHash":"` + strings.Repeat("d", 64) + `"},` +
		`{"body":{"i":2},"hash":"` + h2 + `","seq":2}]`
	got := eventHashes([]byte(body))
	if len(got) != 2 || got[0] != h1 || got[1] != h2 {
		t.Fatalf("got %q, want [%q %q]", got, h1, h2)
	}
	if got := eventHashes([]byte(`{"hash":"abc"}`)); len(got) != 0 {
		t.Fatalf("truncated hash: got %q, want none", got)
	}
}

func TestAppendBodies(t *testing.T) {
	one := string(appendEvent(42))
	if !strings.HasPrefix(one, `{"eventType":"bench.append","body":{"i":42,`) || !strings.HasSuffix(one, `"}}`) {
		t.Fatalf("got %q, want one event numbered 42", one)
	}
	batch := string(appendBatch(7, 3))
	if n := strings.Count(batch, `"eventType"`); n != 3 {
		t.Fatalf("got %d events in %q, want 3", n, batch)
	}
	if !strings.Contains(batch, `"i":9,`) || strings.Contains(batch, `"i":10,`) {
		t.Fatalf("got %q, want events 7..9", batch)
	}
}

func TestParseInittrace(t *testing.T) {
	in := "init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs\n" +
		"init apie/eventlog @1.2 ms, 0.25 ms clock, 9216 bytes, 3 allocs\n" +
		"not an init line\n" +
		"init broken @x ms, y ms clock, 1 bytes, 1 allocs\n"
	got := parseInittrace(in)
	if len(got) != 2 {
		t.Fatalf("got %d inits, want 2: %+v", len(got), got)
	}
	if got[1].pkg != "apie/eventlog" || got[1].clock != 250*time.Microsecond || got[1].bytes != 9216 {
		t.Fatalf("got %+v, want apie/eventlog 250µs 9216 B", got[1])
	}
}

func TestParseGoBench(t *testing.T) {
	out := "goos: linux\n" +
		"BenchmarkSum256/64B/stdlib-2         	 3548869	       154.7 ns/op	 413.77 MB/s\n" +
		"BenchmarkSum256/64B/stdlib-2         	 3548869	       150.0 ns/op	 420.00 MB/s\n" +
		"BenchmarkSum256/64B/sha256-simd-2    	 5242316	       117.3 ns/op	 545.50 MB/s\n" +
		"BenchmarkOther-2 	 100	 10 ns/op\n" +
		"PASS\n"
	got := parseGoBench(out)
	if len(got) != 2 {
		t.Fatalf("got %d benchmarks, want 2: %+v", len(got), got)
	}
	if got[0].name != "BenchmarkSum256/64B/stdlib" || len(got[0].mbps) != 2 {
		t.Fatalf("got %+v, want two stdlib runs", got[0])
	}
	sec := hashingSection(got, "two rounds")
	if !strings.Contains(sec, "| Sum256 64B | 420 | 546 |") || !strings.Contains(sec, "sha256-simd by") {
		t.Fatalf("got section:\n%s\nwant the 64B row with sha256-simd ahead", sec)
	}
}

func TestStraceCalls(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "strace.txt")
	out := "% time     seconds  usecs/call     calls    errors syscall\n" +
		"------ ----------- ----------- --------- --------- ----------------\n" +
		" 60.00    0.000600         150         4           fsync\n" +
		" 30.00    0.000300           3       100        12 openat\n" +
		"------ ----------- ----------- --------- --------- ----------------\n" +
		"100.00    0.000900                   104        12 total\n"
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	got := straceCalls(p)
	if got["fsync"] != 4 || got["openat"] != 100 || len(got) != 2 {
		t.Fatalf("got %v, want fsync 4 and openat 100 only", got)
	}
	if got.syncs() != 4 || got.total() != 104 {
		t.Fatalf("got syncs %d total %d, want 4 and 104", got.syncs(), got.total())
	}
	sec := profileSection([]profile{{"op", 2, got}})
	if !strings.Contains(sec, "| op | 2 | 0 | 50 | 52 | openat 50, fsync 2 |") {
		t.Fatalf("got section:\n%s", sec)
	}
}

func TestUnescapeMount(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{`/mnt/with\040space`, "/mnt/with space"},
		{`/a\134b`, `/a\b`},
		{`/bad\09`, `/bad\09`},
	}
	for _, tt := range tests {
		if got := unescapeMount(tt.in); got != tt.want {
			t.Errorf("unescapeMount(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
	fs, err := filesystemOf(t.TempDir())
	if err != nil || !strings.Contains(fs, " on ") {
		t.Fatalf("filesystemOf: got %q, %v; want a type and a source", fs, err)
	}
}

func TestPeakRSSAndCPUOfSelf(t *testing.T) {
	pid := os.Getpid()
	rss, err := peakRSS(pid)
	if err != nil || rss < 1<<20 {
		t.Fatalf("peakRSS: got %d, %v; want at least 1 MiB", rss, err)
	}
	if _, err := cpuTime(pid); err != nil {
		t.Fatalf("cpuTime: %v", err)
	}
}

// FuzzParsers feeds arbitrary bytes (stand-ins for the output of the
// programs the suite runs) to every parser: none may panic, and each
// hash found must be 64 bytes long.
func FuzzParsers(f *testing.F) {
	f.Add([]byte(`[{"hash":"` + strings.Repeat("a", 64) + `"}]`))
	f.Add([]byte("init x @1 ms, 2 ms clock, 3 bytes, 4 allocs\n"))
	f.Add([]byte("BenchmarkSum256/1KiB/stdlib-2 1 2 ns/op 3 MB/s\n"))
	f.Add([]byte(`"hash":"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, h := range eventHashes(b) {
			if len(h) != 64 {
				t.Fatalf("got a hash of %d bytes, want 64", len(h))
			}
		}
		for _, c := range parseInittrace(string(b)) {
			if c.pkg == "" {
				t.Fatal("got an init without a package")
			}
		}
		for _, g := range parseGoBench(string(b)) {
			if len(g.mbps) == 0 {
				t.Fatalf("got benchmark %q without runs", g.name)
			}
			g.median()
		}
		hashingSection(parseGoBench(string(b)), "fuzz")
		unescapeMount(string(b))
	})
}

func TestHandWrittenKept(t *testing.T) {
	tests := []struct{ old, want string }{
		{"# generated\n| a |\n", ""},
		{"# generated\n" + handMarker + "\n## Analysis\nkeep me\n", handMarker + "\n## Analysis\nkeep me\n"},
	}
	for _, tt := range tests {
		if got := string(handWritten([]byte(tt.old))); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
