package faults

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What a test logs when apie-serve stops answering, so that a hang seen
// once on CI can be understood from its log alone.

// isTimeout reports whether err is a client that gave up waiting (the
// server took the request and never answered).
func isTimeout(err error) bool {
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}

// dumpHung logs where a server that did not answer is stuck: the kernel
// stack of each of its threads (a thread waiting for a file system, FUSE
// included, shows it there), this test process's goroutines that serve a
// FUSE mount (lazyfs runs in it), and the server's own goroutines, which
// SIGQUIT makes it write to its output (logged when the test fails) as
// it exits.
func dumpHung(t testing.TB, srv *server) {
	t.Helper()
	if srv == nil || srv.Exited() {
		return
	}
	pid := srv.Cmd.Process.Pid
	t.Logf("apie-serve (pid %d) did not answer; its threads' kernel stacks:\n%s", pid, kernelStacks(pid))
	t.Logf("FUSE requests waiting for an answer, per connection:\n%s", fuseWaiting())
	t.Logf("this process's FUSE goroutines:\n%s", fuseGoroutines())
	srv.Cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-srv.Done():
	case <-time.After(10 * time.Second):
		t.Logf("apie-serve did not exit within 10s of SIGQUIT")
	}
}

// kernelStacks returns /proc/pid/task/*/stack (root only) or why not.
func kernelStacks(pid int) string {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	if err != nil || len(tasks) == 0 {
		return fmt.Sprintf("(no tasks of %d: %v)", pid, err)
	}
	var b strings.Builder
	for _, task := range tasks {
		stack, err := os.ReadFile(filepath.Join(task, "stack"))
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", task, err)
			continue
		}
		comm, _ := os.ReadFile(filepath.Join(task, "comm"))
		fmt.Fprintf(&b, "%s (%s):\n%s", task, bytes.TrimSpace(comm), stack)
	}
	return b.String()
}

// fuseWaiting returns /sys/fs/fuse/connections/*/waiting: requests the
// kernel sent to a FUSE server (lazyfs) that it has not answered yet.
func fuseWaiting() string {
	files, err := filepath.Glob("/sys/fs/fuse/connections/*/waiting")
	if err != nil || len(files) == 0 {
		return fmt.Sprintf("(none readable: %v)", err)
	}
	var b strings.Builder
	for _, f := range files {
		n, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", f, err)
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", f, bytes.TrimSpace(n))
	}
	return b.String()
}

// fuseGoroutines returns the stacks of this process's goroutines that
// mention go-fuse or lazyfs.
func fuseGoroutines() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var b strings.Builder
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "go-fuse") || strings.Contains(g, "lazyfs") {
			b.WriteString(g)
			b.WriteString("\n\n")
		}
	}
	return b.String()
}
