package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Command is a short run of one of apie's programs, such as its admin
// command line (`apie-serve -config apie.json user add EMAIL`).
type Command struct {
	Path string              // the program
	Args []string            // arguments before the ones Run is given (like -config apie.json)
	Dir  string              // working directory ("": the test's)
	Env  []string            // added to this process's environment
	Cred *syscall.Credential // run as this user (nil: the test's own)
}

// Run runs the program with c.Args and then args, stdin on its standard
// input, and returns its combined output and exit code (-1 if a signal
// ended it). err is set only when the program could not be run or ctx
// ended first; a non-zero exit is a code, not an error. A start that
// fails with "text file busy" is retried: a binary just copied may be
// held open for a moment by a child that a parallel test forked
// meanwhile (golang.org/issue/22315).
func (c Command) Run(ctx context.Context, stdin string, args ...string) (out string, code int, err error) {
	all := append(append([]string(nil), c.Args...), args...)
	for attempt := 0; ; attempt++ {
		cmd := exec.CommandContext(ctx, c.Path, all...)
		cmd.Dir = c.Dir
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), c.Env...)
		if c.Cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.Cred}
		}
		b, err := cmd.CombinedOutput()
		if errors.Is(err, syscall.ETXTBSY) && attempt < 20 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if ctx.Err() != nil {
			return string(b), -1, fmt.Errorf("%s: %w", c.describe(args), ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(b), ee.ExitCode(), nil
		}
		if err != nil {
			return string(b), -1, fmt.Errorf("%s: %w", c.describe(args), err)
		}
		return string(b), 0, nil
	}
}

// Must runs the command (see Run) for at most two minutes and fails the
// test unless it exits 0. It returns the combined output.
func (c Command) Must(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, code, err := c.Run(ctx, stdin, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if code != 0 {
		t.Fatalf("%s: exit %d, want 0\n%s", c.describe(args), code, out)
	}
	return out
}

// AddUser adds a user with the admin command line, `user add email
// [info]`, the password on standard input; it fails the test unless the
// command exits 0.
func (c Command) AddUser(t testing.TB, email, password string, info ...string) {
	t.Helper()
	c.Must(t, password+"\n", append([]string{"user", "add", email}, info...)...)
}

// describe names the command in messages: the program's base name and
// the arguments Run was given.
func (c Command) describe(args []string) string {
	return strings.Join(append([]string{filepath.Base(c.Path)}, args...), " ")
}
