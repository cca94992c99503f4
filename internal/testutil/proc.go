package testutil

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a long-running child process (apie-serve, a web server) that a
// test started in a process group of its own. The test's cleanup stops
// it and everything it started.
type Proc struct {
	Name   string
	Cmd    *exec.Cmd
	Output *SyncBuffer // stdout and stderr, unless the caller set them

	done     chan struct{} // closed when the process has exited
	err      error         // Wait's result, valid after done
	stopOnce sync.Once
}

// StartProc starts cmd in a new process group and registers its stop
// with t.Cleanup: stopSig first, SIGKILL to the whole group after grace
// (see Stop); the output is logged if the test failed. Whatever of
// cmd.Stdout and cmd.Stderr is unset goes to p.Output. If the test
// process itself dies, the kernel sends the child stopSig where the
// platform allows it (Linux's Pdeathsig). A failure to start fails t.
func StartProc(t testing.TB, name string, cmd *exec.Cmd, stopSig syscall.Signal, grace time.Duration) *Proc {
	t.Helper()
	p := &Proc{Name: name, Cmd: cmd, Output: &SyncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.Output
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Output
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Children that outlive the leader keep its output pipes open; do not
	// let them hold Wait (Stop kills the group after the leader is gone).
	cmd.WaitDelay = time.Second
	setParentDeathSignal(cmd.SysProcAttr, stopSig)
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that forked: keep it
		// until the child is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(p.done)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.Stop(t, stopSig, grace)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output.String())
		}
	})
	return p
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is the process's exit status as Wait returned it; nil while it
// runs.
func (p *Proc) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// ExitCode is the process's exit code, or -1 while it runs or if a
// signal ended it.
func (p *Proc) ExitCode() int {
	if !p.Exited() || p.Cmd.ProcessState == nil {
		return -1
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Kill sends SIGKILL to the process group and waits for the process to be
// gone. It reports whether the process was still running (false: it had
// exited already).
func (p *Proc) Kill() bool {
	if p.Exited() {
		return false
	}
	syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return true
}

// Stop sends sig and waits up to grace for the process to exit (an error
// on t if it does not), then kills its process group and checks, for up
// to 5 seconds, that nothing of it is left. Only the first call does
// anything.
func (p *Proc) Stop(t testing.TB, sig syscall.Signal, grace time.Duration) {
	t.Helper()
	p.stopOnce.Do(func() {
		pgid := p.Cmd.Process.Pid
		if !p.Exited() {
			p.Cmd.Process.Signal(sig)
			select {
			case <-p.done:
			case <-time.After(grace):
				t.Errorf("%s did not stop within %s of %s; killing it", p.Name, grace, sig)
			}
		}
		// Children (web server workers, CGI programs) may outlive the leader.
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(-pgid, 0) == nil {
			if time.Now().After(deadline) {
				t.Errorf("%s: processes of group %d still alive after SIGKILL", p.Name, pgid)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// WaitHTTP polls url until it answers 200 with marker in its body (so
// the answer is from this process, not another that took the port), and
// reports whether it did before the process exited, ctx ended or timeout
// passed.
func (p *Proc) WaitHTTP(ctx context.Context, url, marker string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for !p.Exited() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		if resp, err := client.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), marker) {
				return !p.Exited()
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-p.done:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}
