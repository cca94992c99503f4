package apache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a running private Apache.
type Server struct {
	opts   Options
	layout layout
	port   int
	runUID int // the uid httpd runs its children as; -1: the caller's
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // the process's exit status, after done

	stopOnce sync.Once
	stopErr  error
}

// launch starts one httpd on port and waits for it to answer.
func launch(ctx context.Context, o Options, l layout, port int, acct account, builtin func(string) bool) (*Server, error) {
	conf, err := render(o, l, port, acct.user, acct.group, builtin)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(l.conf, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("apache: write config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(l.ready, "ready.txt"), []byte(readyMarker(port)), 0o644); err != nil {
		return nil, fmt.Errorf("apache: write ready marker: %w", err)
	}
	// Check the configuration first: its errors are clearer this way.
	if out, err := exec.CommandContext(ctx, o.Binary, "-f", l.conf, "-t").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("apache: httpd -t rejects the configuration: %w\n%s", err, out)
	}
	stderr, err := os.Create(filepath.Join(l.logs, "stderr.log"))
	if err != nil {
		return nil, fmt.Errorf("apache: stderr log: %w", err)
	}
	defer stderr.Close()
	cmd := exec.Command(o.Binary, "-f", l.conf, "-D", "FOREGROUND")
	cmd.Dir = o.Dir
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = stderr, stderr
	// A group of its own, so Stop can end the workers and CGI programs
	// too; SIGTERM from the kernel if this process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr, syscall.SIGTERM)
	s := &Server{opts: o, layout: l, port: port, runUID: acct.uid, cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that forked: keep it
		// until httpd is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.err = cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("apache: start %s: %w", o.Binary, err)
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop(context.Background())
		return nil, err
	}
	return s, nil
}

// waitReady polls until httpd serves its ready marker and its CGI daemon
// (if any) is ready, it exits, or the start timeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	want := readyMarker(s.port)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+readyPath, nil)
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(body) == want && s.cgidReady() {
				return nil
			}
		}
		select {
		case <-s.done:
			log, _ := s.ErrorLog()
			if containsAny(log, "Address already in use", "could not bind") {
				return fmt.Errorf("apache: %w: %d", errPortTaken, s.port)
			}
			return fmt.Errorf("apache: httpd exited at start (%v):\n%s", s.err, log)
		case <-ctx.Done():
			log, _ := s.ErrorLog()
			return fmt.Errorf("apache: no answer on port %d: %w\n%s", s.port, ctx.Err(), log)
		case <-tick.C:
		}
	}
}

// cgidReady reports whether mod_cgid's socket is ready for the workers
// (true under prefork, which has none). httpd binds it (named ScriptSock
// plus "." and its pid) and, when it runs its children as another user,
// chowns it to that user only afterwards: a CGI request in between fails
// with EACCES, so the server is not ready until the owner is right.
func (s *Server) cgidReady() bool {
	if s.opts.MPM != Event {
		return true
	}
	fi, err := os.Stat(s.layout.sock + "." + strconv.Itoa(s.cmd.Process.Pid))
	if err != nil {
		return false
	}
	if s.runUID < 0 {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == s.runUID
}

// URL is the server's base URL, like "http://127.0.0.1:41234".
func (s *Server) URL() string { return "http://" + s.Addr() }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// CGIURL is the URL of the CGI program name in CGIDir.
func (s *Server) CGIURL(name string) string { return s.URL() + "/cgi-bin/" + name }

// PID is the httpd parent process's id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// ConfigPath is the generated httpd.conf.
func (s *Server) ConfigPath() string { return s.layout.conf }

// AccessLogPath is where the access log goes when Options.AccessLog is set.
func (s *Server) AccessLogPath() string { return s.layout.accessLog }

// ErrorLog returns what httpd wrote to its error log and to stderr.
func (s *Server) ErrorLog() (string, error) {
	var out []byte
	var errs []error
	for _, p := range []string{filepath.Join(s.layout.logs, "stderr.log"), s.layout.errorLog} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		out = append(out, b...)
	}
	return string(out), errors.Join(errs...)
}

// Stop stops httpd: SIGTERM to the parent (which stops its children),
// then, if it has not exited when ctx ends or after 10 seconds, SIGKILL.
// Either way it then kills what is left of the process group (CGI
// programs may outlive the server) and waits up to 5 seconds for the
// group to be gone; an error says what did not stop. Stop is idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	defer func() {
		if s.layout.run != filepath.Join(s.opts.Dir, "run") {
			os.RemoveAll(s.layout.run)
		}
	}()
	pid := s.cmd.Process.Pid
	var errs []error
	select {
	case <-s.done:
	default:
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("apache: stop %d: %w", pid, err))
		}
		timer := time.NewTimer(10 * time.Second)
		defer timer.Stop()
		select {
		case <-s.done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("apache: httpd %d did not stop on SIGTERM: %w; killed", pid, ctx.Err()))
		case <-timer.C:
			errs = append(errs, fmt.Errorf("apache: httpd %d did not stop within 10s of SIGTERM; killed", pid))
		}
	}
	syscall.Kill(-pid, syscall.SIGKILL) // the group we created with Setpgid
	<-s.done
	if err := waitGroupGone(pid, 5*time.Second); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// waitGroupGone polls until no process of group pgid is left, or
// reports, after timeout, that some are.
func waitGroupGone(pgid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("apache: processes of group %d still alive %s after SIGKILL", pgid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// serverEnv is httpd's environment: a fixed PATH and the C locale, so
// what the caller's shell holds neither leaks into CGI programs nor
// changes the server's behaviour.
func serverEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
