package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// binaries are the programs a run starts, built for this run.
type binaries struct {
	serve, cgi           string // apie-serve, apie-cgi
	trivialCGI, trivialS string // the floors: a trivial net/http/cgi program and net/http server
	maxrss               string // runs a program and reports its own peak RSS
}

// moduleRoot returns the directory of apie's go.mod, from the working
// directory (make bench runs at the root; go test in cmd/apie-bench).
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("find module root: not inside the apie module")
	}
	return filepath.Dir(mod), nil
}

// build compiles the programs into dir the way make build does:
// static (CGO_ENABLED=0), -trimpath, stripped.
func build(ctx context.Context, repo, dir string) (binaries, error) {
	b := binaries{
		serve:      filepath.Join(dir, "apie-serve"),
		cgi:        filepath.Join(dir, "apie-cgi"),
		trivialCGI: filepath.Join(dir, "trivial-cgi"),
		trivialS:   filepath.Join(dir, "trivial-serve"),
		maxrss:     filepath.Join(dir, "maxrss"),
	}
	for out, pkg := range map[string]string{
		b.serve:      "./cmd/apie-serve",
		b.cgi:        "./cmd/apie-cgi",
		b.trivialCGI: "./cmd/apie-bench/trivial/cgi",
		b.trivialS:   "./cmd/apie-bench/trivial/serve",
		b.maxrss:     "./cmd/apie-bench/maxrss",
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X apie/app.Version=bench", "-o", out, pkg)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("build %s: %w\n%s", pkg, err, out)
		}
	}
	return b, nil
}

// copyFile copies src to dst with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return nil
}
