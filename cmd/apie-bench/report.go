package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the results table: a figure and, where there is one,
// the floor it is compared with, measured in the same run.
type row struct {
	name   string // what was measured
	result string
	floor  string // the floor's figure and what it is; "" for none
	ratio  string // result / floor, oriented as the target reads; "" for none
}

// target is one of the targets, checked against this run.
type target struct {
	name  string
	want  string
	got   string
	state string // "met", "not met", or "skipped"
	bound string // for "not met": what bounds it; otherwise a note or ""
}

func (t target) met() bool { return t.state == "met" }

// section is a titled block of Markdown after the table (hashing, process
// start, ...).
type section struct {
	title string
	body  string
}

// report collects everything one run found.
type report struct {
	machine  machine
	command  string
	started  time.Time
	elapsed  time.Duration
	rows     []row
	targets  []target
	sections []section
	notes    []string
}

func (r *report) add(name, result, floor, ratio string) {
	r.rows = append(r.rows, row{name, result, floor, ratio})
}

// check records a target; bound explains a miss and is dropped when the
// target is met.
func (r *report) check(name, want, got string, ok bool, bound string) {
	state := "not met"
	if ok {
		state, bound = "met", ""
	}
	r.targets = append(r.targets, target{name, want, got, state, bound})
}

func (r *report) skip(name, want, why string) {
	r.targets = append(r.targets, target{name, want, "—", "skipped", why})
}

func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// writeText prints the table and the targets for a terminal.
func (r *report) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tRESULT\tFLOOR (same run)\tRATIO")
	for _, x := range r.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.name, x.result, dash(x.floor), dash(x.ratio))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TARGET\tWANT\tGOT\tSTATE")
	for _, t := range r.targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.name, t.want, t.got, strings.ToUpper(t.state))
	}
	return tw.Flush()
}

// writeMarkdown writes BENCHMARKS.md.
func (r *report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	m := r.machine
	p("# apie benchmarks")
	p("")
	p("Written by `cmd/apie-bench` on %s (%s). Every floor is measured in the", r.started.UTC().Format("2006-01-02 15:04 MST"), fmtDur(r.elapsed.Round(time.Second)))
	p("same run, on the same machine and filesystem, so the ratios compare like with like. The latency")
	p("floors (fsync, trivial round trip, trivial CGI) are measured interleaved with the figure they")
	p("are compared with — one of each in turn — so both see the same load on the machine.")
	p("")
	p("Reproduce: `%s`", r.command)
	p("")
	p("## Machine")
	p("")
	p("| | |")
	p("|---|---|")
	p("| CPU | %s (%d cores online) |", mdEscape(m.cpu), m.cores)
	p("| Kernel | %s |", mdEscape(m.kernel))
	p("| Data filesystem | %s (%s) |", mdEscape(m.fs), mdEscape(m.workDir))
	p("| Go | %s |", mdEscape(m.goVersion))
	p("| Commit | %s |", mdEscape(m.commit))
	p("| Apache | %s |", mdEscape(m.apache))
	p("| Load average | %s at the start, %s at the end (other work on the machine shows here) |", mdEscape(m.loadStart), mdEscape(m.loadEnd))
	p("")
	p("## Results")
	p("")
	p("| Measure | Result | Floor (same run) | Ratio |")
	p("|---|---|---|---|")
	for _, x := range r.rows {
		p("| %s | %s | %s | %s |", mdEscape(x.name), mdEscape(x.result), mdEscape(dash(x.floor)), mdEscape(dash(x.ratio)))
	}
	p("")
	p("## Targets")
	p("")
	p("| Target | Want | Got | | What bounds it |")
	p("|---|---|---|---|---|")
	for _, t := range r.targets {
		p("| %s | %s | %s | %s | %s |", mdEscape(t.name), mdEscape(t.want), mdEscape(t.got), t.state, mdEscape(t.bound))
	}
	for _, s := range r.sections {
		p("")
		p("## %s", s.title)
		p("")
		p("%s", strings.TrimRight(s.body, "\n"))
	}
	if len(r.notes) > 0 {
		p("")
		p("## Notes")
		p("")
		for _, n := range r.notes {
			p("- %s", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// mdEscape keeps a cell inside its Markdown table column.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// handMarker starts the part of BENCHMARKS.md written by hand (analysis,
// decisions); a new run keeps everything from it on.
const handMarker = "<!-- Written by hand below this line; apie-bench keeps it when it rewrites the file. -->"

// handWritten returns the hand-written tail of an earlier report (from
// handMarker on), or nil if it has none.
func handWritten(old []byte) []byte {
	i := bytes.Index(old, []byte(handMarker))
	if i < 0 {
		return nil
	}
	return old[i:]
}
