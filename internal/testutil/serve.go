package testutil

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ServeOptions say how to start apie-serve. Binary is required.
type ServeOptions struct {
	Binary string              // the apie-serve executable
	Config string              // passed as -config unless empty
	Dir    string              // working directory ("": the test's)
	Args   []string            // more flags, after -addr and -config
	Env    []string            // added to this process's environment
	Cred   *syscall.Credential // run as this user (nil: the test's own)
	// Stdout receives standard output; nil sends it to Output with the
	// standard error (the log).
	Stdout io.Writer
	// StopSignal is what the test's cleanup sends (default SIGKILL; a
	// test that wants every server to stop gracefully says SIGTERM, with
	// 30 seconds before the group is killed).
	StopSignal syscall.Signal
	// StartTimeout bounds the wait for the listening line (default 20s).
	StartTimeout time.Duration
}

// Serve is a running apie-serve.
type Serve struct {
	*Proc
	Addr string // host:port it listens on, from its own log
	URL  string // "http://" + Addr
}

// listening is the log line apie-serve writes once its socket is bound.
var listening = regexp.MustCompile(`msg="apie-serve listening" addr=(\S+)`)

// StartServe starts apie-serve on a free 127.0.0.1 port (from PickPort)
// and returns once it logs that it listens, trying another port if the
// one picked was taken meanwhile. Anything else fails the test. The
// test's cleanup stops it (see ServeOptions.StopSignal).
func StartServe(t testing.TB, o ServeOptions) *Serve {
	t.Helper()
	s, err := TryStartServe(t, o)
	if err != nil {
		t.Fatalf("start apie-serve: %v", err)
	}
	return s
}

// TryStartServe is StartServe for a test that expects a refusal: if
// apie-serve exits before it listens, it returns the exited server (its
// Output and ExitCode tell why) and an error. If it neither listens nor
// exits in time, it kills it and returns nil and an error.
func TryStartServe(t testing.TB, o ServeOptions) (*Serve, error) {
	t.Helper()
	if o.StopSignal == 0 {
		o.StopSignal = syscall.SIGKILL
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 20 * time.Second
	}
	var s *Serve
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		s, err = launchServe(t, o, FreeAddr(t))
		if s == nil || !s.Exited() || !strings.Contains(s.Output.String(), "address already in use") {
			break
		}
	}
	return s, err
}

// launchServe starts one apie-serve on addr and waits for its listening
// line.
func launchServe(t testing.TB, o ServeOptions, addr string) (*Serve, error) {
	t.Helper()
	args := []string{"-addr", addr}
	if o.Config != "" {
		args = append(args, "-config", o.Config)
	}
	cmd := exec.Command(o.Binary, append(args, o.Args...)...)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Stdout = o.Stdout
	if o.Cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.Cred}
	}
	s := &Serve{Proc: StartProc(t, "apie-serve", cmd, o.StopSignal, 30*time.Second)}
	ctx, cancel := context.WithTimeout(t.Context(), o.StartTimeout)
	defer cancel()
	for {
		if m := listening.FindStringSubmatch(s.Output.String()); m != nil {
			s.Addr, s.URL = m[1], "http://"+m[1]
			return s, nil
		}
		select {
		case <-s.Done():
			return s, fmt.Errorf("apie-serve exited (%v) before listening:\n%s", s.Err(), s.Output)
		case <-ctx.Done():
			s.Kill()
			return nil, fmt.Errorf("apie-serve did not listen within %s:\n%s", o.StartTimeout, s.Output)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Shutdown stops apie-serve gracefully (SIGTERM) and fails the test
// unless it exits with status 0 within 30 seconds.
func (s *Serve) Shutdown(t testing.TB) {
	t.Helper()
	s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.Done():
	case <-time.After(30 * time.Second):
		s.Kill()
		t.Fatalf("apie-serve did not stop within 30s of SIGTERM\n%s", s.Output)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("apie-serve stopped with %v:\n%s", err, s.Output)
	}
}
