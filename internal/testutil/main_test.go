package testutil

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the programs the helpers
// run: with TESTUTIL_HELPER set it acts out that part and exits.
func TestMain(m *testing.M) {
	if mode := os.Getenv("TESTUTIL_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper acts out mode:
//
//	echo     prints its arguments and standard input, exits with $HELPER_EXIT
//	parent   starts a sleeping child in its own group, prints its pid, sleeps
//	sleep    sleeps
//	serve    a tiny apie-serve: -addr, the listening log line, GET / answers
//	         "Apie helper", SIGTERM exits 0 (or $HELPER_EXIT)
//	refuse   says why on stderr and exits 1
//	busy     like serve, but the first start (no file $HELPER_ONCE yet)
//	         fails as if its port were taken
func helper(mode string, args []string) int {
	switch mode {
	case "echo":
		in, _ := io.ReadAll(os.Stdin)
		fmt.Printf("args=%s\nstdin=%s", strings.Join(args, " "), in)
		code, _ := strconv.Atoi(os.Getenv("HELPER_EXIT"))
		return code
	case "parent":
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), "TESTUTIL_HELPER=sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("child=%d\n", child.Process.Pid)
		time.Sleep(time.Hour)
		return 0
	case "sleep":
		time.Sleep(time.Hour)
		return 0
	case "refuse":
		fmt.Fprintln(os.Stderr, "helper: refusing to start: no good reason")
		return 1
	case "busy":
		once := os.Getenv("HELPER_ONCE")
		if _, err := os.Stat(once); err != nil {
			os.WriteFile(once, nil, 0o644)
			fmt.Fprintln(os.Stderr, "listen tcp: bind: address already in use")
			return 1
		}
		return serveHelper(args)
	case "serve":
		return serveHelper(args)
	}
	fmt.Fprintf(os.Stderr, "helper: unknown mode %q\n", mode)
	return 2
}

func serveHelper(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "")
	fs.String("config", "", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Like apie-serve: take SIGTERM before saying it listens, so a test
	// that stops it at once gets the exit code, not a death by signal.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "time=now level=INFO msg=\"apie-serve listening\" addr=%s version=helper\n", ln.Addr())
	fmt.Fprintln(os.Stdout, "on stdout")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Apie helper\n")
	})}
	go srv.Serve(ln)
	<-ctx.Done()
	srv.Close()
	code, _ := strconv.Atoi(os.Getenv("HELPER_EXIT"))
	return code
}

// helperCmd returns a command that runs this test binary as mode.
func helperCmd(mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TESTUTIL_HELPER="+mode)
	return cmd
}

// fakeTB records what a helper reports on a test, so the tests can check
// that a helper fails (or skips) the test it is given. Fatal and Skip
// end the calling goroutine, as the real ones do: run the helper with
// fakeTB.run.
type fakeTB struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	panic(errFakeStop)
}

func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	panic(errFakeStop)
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	panic(errFakeStop)
}

var errFakeStop = errors.New("fake test stopped")

// run calls fn with f, stopping where fn fails or skips f.
func (f *fakeTB) run(fn func(testing.TB)) {
	defer func() {
		if r := recover(); r != nil && r != errFakeStop {
			panic(r)
		}
	}()
	fn(f)
}
