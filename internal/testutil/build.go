package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The import paths of apie's two programs.
const (
	CGIPackage   = "apie/cmd/apie-cgi"
	ServePackage = "apie/cmd/apie-serve"
)

// Binaries are apie-cgi and apie-serve built for one test run.
type Binaries struct {
	Dir   string // holds both; the caller removes it
	CGI   string // apie-cgi
	Serve string // apie-serve
}

// BuildBinaries builds apie-cgi and apie-serve the way the Makefile does
// (see GoBuild) into a new temporary directory that every user may read
// and search, so that a test may run them as another user. version, if
// set, is stamped as app.Version. The caller removes b.Dir when done; on
// error nothing is left behind.
func BuildBinaries(ctx context.Context, version string) (b Binaries, err error) {
	dir, err := os.MkdirTemp("", "apie-test-bin-")
	if err != nil {
		return Binaries{}, fmt.Errorf("build binaries: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Chmod(dir, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("build binaries: open up %s: %w", dir, err)
	}
	if err := GoBuild(ctx, dir+string(filepath.Separator), version, nil, CGIPackage, ServePackage); err != nil {
		return Binaries{}, err
	}
	return Binaries{Dir: dir, CGI: filepath.Join(dir, "apie-cgi"), Serve: filepath.Join(dir, "apie-serve")}, nil
}

// GoBuild runs go build on pkgs the way the Makefile does: static
// (CGO_ENABLED=0), -trimpath, and, when version is set, app.Version
// stamped with -X. out is the output file, or, for several packages, a
// directory ending in a separator. env adds variables such as GOOS and
// GOARCH. The packages are import paths (like apie/cmd/apie-cgi), so the
// working directory may be anywhere in the module.
func GoBuild(ctx context.Context, out, version string, env []string, pkgs ...string) error {
	goTool, err := findGo()
	if err != nil {
		return err
	}
	args := []string{"build", "-trimpath"}
	if version != "" {
		args = append(args, "-ldflags", "-X apie/app.Version="+version)
	}
	args = append(append(args, "-o", out), pkgs...)
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %v: %w\n%s", pkgs, err, b)
	}
	return nil
}

// findGo returns the go command: the one in PATH, else the usual install
// location (go test may run with a PATH that lacks it).
func findGo() (string, error) {
	p, err := exec.LookPath("go")
	if err == nil {
		return p, nil
	}
	const fallback = "/usr/local/go/bin/go"
	if _, serr := os.Stat(fallback); serr != nil {
		return "", errors.Join(errors.New("find the go command: not in PATH nor at "+fallback), err)
	}
	return fallback, nil
}
