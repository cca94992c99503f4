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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	acct, err := o.share(l)
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
		s, err := launch(ctx, o, l, port, acct, builtin)
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
