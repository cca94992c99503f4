package main

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// hashing runs sum's Go benchmarks (crypto/sha256 against
// minio/sha256-simd at 64 B, 1 KiB and 1 MiB) and reports the medians and
// which implementation wins. The test binary is built once and run in
// rounds, each running every benchmark once, so load that comes and goes
// falls on both implementations alike.
func (b *bench) hashing(ctx context.Context) error {
	if !b.opt.goBench {
		b.rep.note("sum benchmarks skipped (-gobench=false).")
		return nil
	}
	rounds, benchtime := 9, "200ms"
	if b.sz.name != "full" {
		rounds, benchtime = 3, "50ms"
	}
	bin := filepath.Join(b.work, "bin", "sum.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./sum/")
	cmd.Dir = b.repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c ./sum/: %w\n%s", err, out)
	}
	var all strings.Builder
	for r := 0; r < rounds; r++ {
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", ".", "-test.benchtime", benchtime)
		cmd.Dir = filepath.Join(b.repo, "sum")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("sum benchmarks: %w\n%s", err, out)
		}
		all.Write(out)
	}
	res := parseGoBench(all.String())
	if len(res) == 0 {
		return fmt.Errorf("sum benchmarks: no results in:\n%s", all.String())
	}
	how := fmt.Sprintf("`go test -c ./sum/`, then %d rounds of `sum.test -test.bench . -test.benchtime %s`", rounds, benchtime)
	b.rep.sections = append(b.rep.sections, section{"Hashing: crypto/sha256 or minio/sha256-simd", hashingSection(res, how)})
	return nil
}

// goBench is one benchmark's runs: MB/s of each.
type goBench struct {
	name string // without the -GOMAXPROCS suffix
	mbps []float64
}

func (g goBench) median() float64 {
	c := slices.Clone(g.mbps)
	slices.Sort(c)
	return c[len(c)/2]
}

// parseGoBench reads `go test -bench` output, keeping benchmarks that
// report MB/s, in first-seen order.
func parseGoBench(out string) []goBench {
	var res []goBench
	idx := map[string]int{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[0], "Benchmark") || f[5] != "MB/s" {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		v, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			continue
		}
		i, ok := idx[name]
		if !ok {
			i = len(res)
			idx[name] = i
			res = append(res, goBench{name: name})
		}
		res[i].mbps = append(res[i].mbps, v)
	}
	return res
}

// hashingSection renders the comparison: one row per benchmark size, one
// column per implementation, and a verdict. sum.Of is crypto/sha256 behind
// apie's one function, so its spread from the crypto/sha256 column is the
// run's noise; a difference counts only beyond it (and beyond 5%).
func hashingSection(res []goBench, how string) string {
	type cell struct{ size, impl string }
	vals := map[cell]float64{}
	var sizes []string
	for _, r := range res {
		parts := strings.Split(strings.TrimPrefix(r.name, "Benchmark"), "/")
		if len(parts) != 3 {
			continue
		}
		size := parts[0] + " " + parts[1]
		if !slices.Contains(sizes, size) {
			sizes = append(sizes, size)
		}
		vals[cell{size, parts[2]}] = r.median()
	}
	noise := 0.05
	for _, s := range sizes {
		std, of := vals[cell{s, "stdlib"}], vals[cell{s, "sum.Of"}]
		if std > 0 && of > 0 {
			noise = max(noise, math.Abs(of/std-1))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (sum/sum_bench_test.go); median MB/s over the rounds. ", how)
	fmt.Fprintf(&b, "sum.Of is crypto/sha256 behind apie's one function, so its spread from the crypto/sha256 column (%.0f%% at most here) is the noise of this run; a difference counts only beyond it.\n\n", 100*noise)
	b.WriteString("| benchmark | crypto/sha256 | minio/sha256-simd | sum.Of (in use) | faster |\n|---|---|---|---|---|\n")
	simdWins, stdWins := 0, 0
	for _, s := range sizes {
		std, simd := vals[cell{s, "stdlib"}], vals[cell{s, "sha256-simd"}]
		of := "—"
		if v, ok := vals[cell{s, "sum.Of"}]; ok {
			of = fmt.Sprintf("%.0f", v)
		}
		winner := "neither (within noise)"
		switch {
		case simd > std*(1+noise):
			winner, simdWins = fmt.Sprintf("sha256-simd by %.0f%%", 100*(simd/std-1)), simdWins+1
		case std > simd*(1+noise):
			winner, stdWins = fmt.Sprintf("crypto/sha256 by %.0f%%", 100*(std/simd-1)), stdWins+1
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %s | %s |\n", s, std, simd, of, winner)
	}
	b.WriteString("\n")
	switch {
	case simdWins > 0 && stdWins == 0:
		b.WriteString("Verdict: minio/sha256-simd is faster beyond the noise at some sizes and slower at none; switching sum.Of and sum.New to it is worth an end-to-end measurement.\n")
	case stdWins > 0 && simdWins == 0:
		b.WriteString("Verdict: crypto/sha256 is faster beyond the noise; sum keeps it (no dependency, SHA-NI where the CPU has it).\n")
	default:
		b.WriteString("Verdict: no consistent winner beyond the noise on this CPU; sum keeps crypto/sha256, which needs no dependency and uses the same SHA-NI instructions.\n")
	}
	return b.String()
}
