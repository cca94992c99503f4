package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// owner is the account apie's files and processes belong to: the test's
// own user, or, when the test runs as root, an unprivileged one (Apache
// will not run CGI programs as root, and a shared host never does). Files
// the test installs are chowned to it and the admin commands and
// apie-serve run as it, as they would for a user on a shared host.
type owner struct {
	name string
	uid  int
	gid  int
	cred *syscall.Credential // nil when the test runs as owner itself
}

// webOwner returns the owner for this run: the current user, or when root
// www-data (else nobody).
func webOwner(t testing.TB) owner {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		name := strconv.Itoa(os.Getuid())
		if err == nil {
			name = u.Username
		}
		return owner{name: name, uid: os.Getuid(), gid: os.Getgid()}
	}
	for _, name := range []string{"www-data", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return owner{name: name, uid: uid, gid: gid,
			cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
	}
	t.Fatalf("running as root, but neither www-data nor nobody exists to own apie's files")
	return owner{}
}

// group is the owner's group name, for Apache's Group directive.
func (o owner) group() string {
	if g, err := user.LookupGroupId(strconv.Itoa(o.gid)); err == nil {
		return g.Name
	}
	return "#" + strconv.Itoa(o.gid)
}

// apply makes cmd run as o.
func (o owner) apply(cmd *exec.Cmd) {
	if o.cred == nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = o.cred
}

// chownTree gives everything under dir to o (a no-op unless root).
func (o owner) chownTree(t testing.TB, dir string) {
	t.Helper()
	if o.cred == nil {
		return
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, o.uid, o.gid)
	})
	if err != nil {
		t.Fatalf("chown %s to %s: %v", dir, o.name, err)
	}
}

// tempDir returns a new t.TempDir() that other users may traverse (its
// parent too), so an unprivileged Apache child or CGI program can reach
// files below it when the test runs as root; then every directory above
// must let them through too.
func tempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("open up %s: %v", d, err)
		}
	}
	for d := filepath.Dir(filepath.Dir(dir)); os.Geteuid() == 0; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s is closed to other users, so Apache's children could not reach %s: set TMPDIR to a directory they can traverse", d, dir)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return dir
}

// syncBuffer is a bytes.Buffer safe for a process's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a long-running child (apie-serve, Apache) in its own process
// group. The test stops it, and everything it started, at its end.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
	once sync.Once
}

// startProc starts cmd in a new process group and registers its stop with
// t.Cleanup: stopSig first, SIGKILL to the whole group after grace. If the
// test process itself dies, the kernel sends the child stopSig
// (Pdeathsig); the starting thread is kept alive until the child exits so
// that signal is not sent early.
func startProc(t testing.TB, name string, cmd *exec.Cmd, stopSig syscall.Signal, grace time.Duration) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Children that outlive the leader keep its output pipes open; do not
	// let them hold Wait (stop kills the group after the leader is gone).
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr.Pdeathsig = stopSig
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // Pdeathsig follows the thread that forked
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
		p.stop(t, stopSig, grace)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig, waits up to grace, then kills the process group and
// checks that nothing of it is left. It is safe to call more than once.
func (p *proc) stop(t testing.TB, sig syscall.Signal, grace time.Duration) {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		if !p.exited() {
			p.cmd.Process.Signal(sig)
			select {
			case <-p.done:
			case <-time.After(grace):
				t.Errorf("%s did not stop within %s of %s; killing it", p.name, grace, sig)
			}
		}
		// Children (Apache workers, CGI programs) may outlive the leader.
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
		deadline := time.Now().Add(5 * time.Second)
		for syscall.Kill(-pgid, 0) == nil {
			if time.Now().After(deadline) {
				t.Errorf("%s: processes of group %d still alive after SIGKILL", p.name, pgid)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// portSet remembers the ports handed out in this test process, so that
// servers started in parallel never get the same one.
type portSet struct {
	mu   sync.Mutex
	used map[int]bool
}

// ports is the run's port set: the package's only shared state besides
// the build cache.
var ports = portSet{used: map[int]bool{}}

// freePort returns a 127.0.0.1 port that was free a moment ago and that
// no other test of this run has been given.
func freePort(t testing.TB) int {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !ports.used[port] {
			ports.used[port] = true
			return port
		}
	}
	t.Fatalf("find a free port: every port offered was used before")
	return 0
}

// runCmd runs a short command as o in dir with stdin, and returns its
// combined output; a non-zero exit fails the test unless allowFail.
func runCmd(t testing.TB, o owner, dir, stdin string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []byte
	var err error
	// A binary just copied may be "text file busy" for a moment: a child
	// forked meanwhile by a parallel test briefly holds the copy's
	// descriptor (golang.org/issue/22315).
	for attempt := 0; attempt < 20; attempt++ {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), env...)
		o.apply(cmd)
		out, err = cmd.CombinedOutput()
		if !errors.Is(err, syscall.ETXTBSY) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return string(out), nil
}

// mustRun is runCmd that fails the test on error.
func mustRun(t testing.TB, o owner, dir, stdin string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runCmd(t, o, dir, stdin, env, name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// waitReady polls url until it answers 200 with marker in its body (so
// the answer is from this process, not another that took the port), and
// reports whether it did before the process exited or the timeout passed.
func waitReady(p *proc, url, marker string, timeout time.Duration) bool {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && !p.exited() {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), marker) {
				return !p.exited()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
