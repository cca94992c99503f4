package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"apie/internal/apache"
)

// machine is what the report states about where it ran.
type machine struct {
	cpu       string
	cores     int
	kernel    string
	fs        string // filesystem type and source of the work directory
	workDir   string
	goVersion string
	commit    string
	apache    string
	loadStart string // /proc/loadavg's first three fields
	loadEnd   string
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// describeMachine gathers the machine facts; a fact it cannot find reads
// "unknown" rather than failing the run.
func describeMachine(ctx context.Context, repo, workDir string) machine {
	m := machine{
		cpu:       "unknown",
		cores:     runtime.NumCPU(),
		kernel:    "unknown",
		fs:        "unknown",
		workDir:   workDir,
		goVersion: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		commit:    "unknown",
		apache:    "not installed",
		loadStart: loadAverage(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "uname", "-srvm").Output(); err == nil {
		m.kernel = strings.TrimSpace(string(out))
	}
	if fs, err := filesystemOf(workDir); err == nil {
		m.fs = fs
	}
	if out, err := gitOutput(ctx, repo, "rev-parse", "HEAD"); err == nil {
		m.commit = out
		if st, err := gitOutput(ctx, repo, "status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
			m.commit += " (tree had uncommitted changes)"
		}
	}
	if bin, _, err := apache.Find(); err == nil {
		if out, err := exec.CommandContext(ctx, bin, "-v").Output(); err == nil {
			first, _, _ := strings.Cut(string(out), "\n")
			m.apache = strings.TrimSpace(strings.TrimPrefix(first, "Server version:"))
		}
	}
	return m
}

func gitOutput(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// filesystemOf returns "type on source (mount point)" for the mount that
// holds dir, from /proc/self/mountinfo.
func filesystemOf(dir string) (string, error) {
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	best, desc := "", ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 2 {
			continue
		}
		mp := unescapeMount(f[4])
		if !within(abs, mp) || len(mp) < len(best) {
			continue
		}
		best, desc = mp, g[0]+" on "+g[1]+" (mounted at "+mp+")"
	}
	if best == "" {
		return "", os.ErrNotExist
	}
	return desc, nil
}

func within(path, mount string) bool {
	return mount == "/" || path == mount || strings.HasPrefix(path, mount+"/")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	var v int
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	return byte(v), v < 256
}
