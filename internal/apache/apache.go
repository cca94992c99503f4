// Package apache runs a private Apache httpd 2.4 for tests and benchmarks.
//
// Start writes a configuration of its own into a directory (nothing under
// /etc/apache2 is read or touched), starts httpd in the foreground on a
// free 127.0.0.1 port with either prefork + mod_cgi or event + mod_cgid,
// and waits until it answers. Stop ends that one process group. A server
// serves a directory of CGI programs at /cgi-bin/ (with CGIPassAuth On, so
// the Authorization header reaches them) and, optionally, a document root
// where .htaccess files apply.
//
// Apache will not run CGI programs as root: when the caller is root, the
// server runs them as Options.User (www-data by default), and Start hands
// the directories it serves and the ones named in Options.Writable to that
// user.
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

// ErrNotInstalled means no Apache httpd binary or module directory was found.
var ErrNotInstalled = errors.New("apache httpd 2.4 is not installed")

// Options describe one private server. Dir is required; everything else
// has a default.
type Options struct {
	// Dir receives httpd.conf, logs/ and run/. It is created if missing.
	Dir string
	// MPM is Prefork (the default) or Event.
	MPM MPM
	// CGIDir is served at /cgi-bin/: every executable in it is a CGI
	// program, with CGIPassAuth On.
	CGIDir string
	// DocRoot, if set, is the DocumentRoot, for testing a .htaccess
	// deployment: with DocRootOptions and AllowOverride.
	DocRoot string
	// DocRootOptions is the Options directive for DocRoot (default
	// "+ExecCGI +FollowSymLinks"; "None" makes the .htaccess ask for
	// what it needs, as on a shared host).
	DocRootOptions string
	// AllowOverride is what .htaccess files under DocRoot may set
	// (default "All"; shared hosts often allow less, like "Options=ExecCGI
	// FileInfo AuthConfig").
	AllowOverride string
	// Env is set for every CGI program (SetEnv).
	Env map[string]string
	// Modules are extra modules to load by short name ("rewrite",
	// "headers", "mime", "dir", "setenvif"...).
	Modules []string
	// Directives are appended to the configuration as they are.
	Directives string
	// KeepAlive turns HTTP keep-alive on (default off: under mod_cgi
	// keep-alive connections add tens of milliseconds per request).
	KeepAlive bool
	// MaxWorkers bounds concurrent requests (default 32).
	MaxWorkers int
	// LogLevel is Apache's LogLevel (default "warn").
	LogLevel string
	// AccessLog writes logs/access.log: client, user, request line,
	// status, bytes and the time taken in microseconds (%D).
	AccessLog bool
	// User and Group run the CGI programs when the caller is root (default
	// www-data, or nobody where there is no www-data). Ignored otherwise.
	User, Group string
	// Writable are directories the CGI programs must be able to write
	// (data directories). Under root they are chowned, recursively, to
	// User, like CGIDir and DocRoot.
	Writable []string
	// Binary and ModulesDir default to what Find returns.
	Binary, ModulesDir string
	// StartTimeout bounds the wait for the first answer (default 15s).
	StartTimeout time.Duration
	// PickPort chooses the port for each start attempt (default: one the
	// kernel says is free). Tests that start servers in parallel pass one
	// that never hands out a port twice in the process.
	PickPort func() (int, error)
}

func (o Options) maxWorkers() int {
	if o.MaxWorkers > 0 {
		return o.MaxWorkers
	}
	return 32
}

func (o Options) docRootOptions() string {
	if o.DocRootOptions != "" {
		return o.DocRootOptions
	}
	return "+ExecCGI +FollowSymLinks"
}

func (o Options) allowOverride() string {
	if o.AllowOverride != "" {
		return o.AllowOverride
	}
	return "All"
}

func (o Options) logLevel() string {
	if o.LogLevel != "" {
		return o.LogLevel
	}
	return "warn"
}

// Find returns the httpd binary and the module directory of the Apache 2.4
// installed here (Debian's layout first, then common others), or
// ErrNotInstalled.
func Find() (binary, modules string, err error) {
	for _, name := range []string{"apache2", "httpd"} {
		if p, err := exec.LookPath(name); err == nil {
			binary = p
			break
		}
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/apache2/bin"} {
			if p := filepath.Join(dir, name); isExecutable(p) {
				binary = p
				break
			}
		}
		if binary != "" {
			break
		}
	}
	for _, dir := range []string{"/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/lib/httpd/modules", "/usr/local/apache2/modules"} {
		if _, err := os.Stat(filepath.Join(dir, "mod_mpm_prefork.so")); err == nil {
			modules = dir
			break
		}
	}
	if binary == "" || modules == "" {
		return "", "", ErrNotInstalled
	}
	return binary, modules, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Server is a running private Apache.
type Server struct {
	opts   Options
	layout layout
	port   int
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // the process's exit status, after done

	stopOnce sync.Once
	stopErr  error
}

// Start writes the configuration, starts httpd and returns once it answers
// HTTP on its port. A port taken between choosing and binding it is
// retried on another. The caller must Stop the server.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("apache: Options.Dir is required")
	}
	if o.MPM == "" {
		o.MPM = Prefork
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 15 * time.Second
	}
	if o.Binary == "" || o.ModulesDir == "" {
		bin, mods, err := Find()
		if err != nil {
			return nil, err
		}
		if o.Binary == "" {
			o.Binary = bin
		}
		if o.ModulesDir == "" {
			o.ModulesDir = mods
		}
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("apache: dir: %w", err)
	}
	o.Dir = dir
	l, err := newLayout(dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{dir, l.logs, l.run, l.ready} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("apache: create %s: %w", d, err)
		}
	}
	if err := os.WriteFile(l.mimeTypes, []byte(mimeTypes), 0o644); err != nil {
		return nil, fmt.Errorf("apache: write mime.types: %w", err)
	}
	runUser, runGroup, err := o.share(l)
	if err != nil {
		return nil, err
	}
	builtin := builtinModules(ctx, o.Binary)
	pick := o.PickPort
	if pick == nil {
		pick = freePort
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := pick()
		if err != nil {
			return nil, err
		}
		s, err := launch(ctx, o, l, port, runUser, runGroup, builtin)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

var errPortTaken = errors.New("port taken")

// launch starts one httpd on port and waits for it to answer.
func launch(ctx context.Context, o Options, l layout, port int, runUser, runGroup string, builtin func(string) bool) (*Server, error) {
	conf, err := render(o, l, port, runUser, runGroup, builtin)
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
	s := &Server{opts: o, layout: l, port: port, cmd: cmd, done: make(chan struct{})}
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

// waitReady polls until httpd serves its ready marker, exits, or the
// start timeout passes.
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
			if resp.StatusCode == http.StatusOK && string(body) == want {
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

// builtinModules returns a predicate over module short names ("version")
// that says whether httpd -l lists it as compiled in.
func builtinModules(ctx context.Context, binary string) func(string) bool {
	out, err := exec.CommandContext(ctx, binary, "-l").Output()
	list := string(out)
	return func(name string) bool {
		return err == nil && strings.Contains(list, "mod_"+name+".c")
	}
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("apache: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
