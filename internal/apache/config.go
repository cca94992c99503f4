package apache

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MPM names an Apache multi-processing module together with the CGI module
// that goes with it.
type MPM string

const (
	// Prefork is mpm_prefork with mod_cgi: a process per connection, which
	// forks the CGI program itself. The classic shared-host setup.
	Prefork MPM = "prefork"
	// Event is mpm_event with mod_cgid: threaded workers that ask a separate
	// cgid daemon (over a Unix socket) to fork the CGI program.
	Event MPM = "event"
)

// cgiModule returns the CGI module that the MPM needs.
func (m MPM) cgiModule() (string, error) {
	switch m {
	case Prefork:
		return "cgi", nil
	case Event:
		return "cgid", nil
	}
	return "", fmt.Errorf("apache: unknown MPM %q (want %q or %q)", string(m), Prefork, Event)
}

// layout is where a server's files go, all under Options.Dir.
type layout struct {
	conf, logs, run, ready, errorLog, accessLog, pidFile, sock, mimeTypes string
}

func newLayout(dir string) (layout, error) {
	l := layout{
		conf:      filepath.Join(dir, "httpd.conf"),
		logs:      filepath.Join(dir, "logs"),
		run:       filepath.Join(dir, "run"),
		ready:     filepath.Join(dir, "ready"),
		mimeTypes: filepath.Join(dir, "mime.types"),
	}
	l.errorLog = filepath.Join(l.logs, "error.log")
	l.accessLog = filepath.Join(l.logs, "access.log")
	l.pidFile = filepath.Join(l.run, "httpd.pid")
	l.sock = filepath.Join(l.run, "cgid.sock")
	if len(l.sock) >= 100 {
		// A Unix socket path must fit sun_path (108 bytes on Linux): put
		// the run directory somewhere short instead.
		short, err := os.MkdirTemp("", "apache-run-")
		if err != nil {
			return layout{}, fmt.Errorf("apache: short run directory: %w", err)
		}
		l.run = short
		l.pidFile = filepath.Join(short, "httpd.pid")
		l.sock = filepath.Join(short, "cgid.sock")
	}
	return l, nil
}

// quote renders s as an Apache configuration string argument.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// readyPath is the URL path that serves the ready marker.
const readyPath = "/apache-ready"

// render writes the whole httpd.conf for o listening on port. builtin
// reports whether a module is compiled into httpd (and so must not be
// loaded).
func render(o Options, l layout, port int, runUser, runGroup string, builtin func(string) bool) (string, error) {
	cgiMod, err := o.MPM.cgiModule()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	p("# Written by apie/internal/apache; private to one run.")
	p("ServerRoot %s", quote(o.Dir))
	p("DefaultRuntimeDir %s", quote(l.run))
	p("PidFile %s", quote(l.pidFile))
	p("Mutex file:%s default", l.run)
	p("ErrorLog %s", quote(l.errorLog))
	p("LogLevel %s", o.logLevel())
	if o.AccessLog {
		// %D: the time taken to serve the request, in microseconds.
		p(`LogFormat "%%h %%u \"%%r\" %%>s %%b %%D" apie`)
		p("CustomLog %s apie", quote(l.accessLog))
	}
	p("Listen 127.0.0.1:%d", port)
	p("ServerName 127.0.0.1:%d", port)
	p("Timeout 600")
	p("KeepAlive %s", onOff(o.KeepAlive))
	p("LimitRequestBody 0")
	p("HostnameLookups Off")
	if runUser != "" {
		p("User %s", runUser)
		p("Group %s", runGroup)
	}

	mods := []string{"mpm_" + string(o.MPM), "authz_core", "alias", "env", cgiMod}
	seen := map[string]bool{}
	for _, m := range append(mods, o.Modules...) {
		if seen[m] || builtin(m) {
			continue
		}
		seen[m] = true
		if m == "mime" {
			p("TypesConfig %s", quote(l.mimeTypes))
		}
		so := filepath.Join(o.ModulesDir, "mod_"+m+".so")
		if _, err := os.Stat(so); err != nil {
			return "", fmt.Errorf("apache: module %s: %w", m, err)
		}
		p("LoadModule %s_module %s", m, quote(so))
	}

	workers := o.maxWorkers()
	switch o.MPM {
	case Prefork:
		start := min(4, workers)
		p("StartServers %d", start)
		p("MinSpareServers %d", min(2, workers))
		p("MaxSpareServers %d", max(start, min(8, workers)))
		p("ServerLimit %d", workers)
		p("MaxRequestWorkers %d", workers)
		p("MaxConnectionsPerChild 0")
	case Event:
		threads := min(25, workers)
		servers := (workers + threads - 1) / threads
		p("StartServers %d", min(2, servers))
		p("ServerLimit %d", max(servers, 2))
		p("ThreadsPerChild %d", threads)
		p("ThreadLimit %d", threads)
		p("MinSpareThreads %d", threads)
		p("MaxSpareThreads %d", 2*threads)
		p("MaxRequestWorkers %d", servers*threads)
		p("ScriptSock %s", quote(l.sock))
	}

	p("<Directory />")
	p("  AllowOverride None")
	p("  Require all denied")
	p("</Directory>")
	p("Alias %s %s", readyPath, quote(filepath.Join(l.ready, "ready.txt")))
	p("<Directory %s>", quote(l.ready))
	p("  Require all granted")
	p("</Directory>")
	if o.DocRoot != "" {
		p("DocumentRoot %s", quote(o.DocRoot))
		p("<Directory %s>", quote(o.DocRoot))
		p("  Options %s", o.docRootOptions())
		p("  AllowOverride %s", o.allowOverride())
		p("  Require all granted")
		p("</Directory>")
	}
	if o.CGIDir != "" {
		p("ScriptAlias /cgi-bin/ %s", quote(strings.TrimSuffix(o.CGIDir, "/")+"/"))
		p("<Directory %s>", quote(o.CGIDir))
		p("  Options +ExecCGI")
		p("  AllowOverride None")
		p("  Require all granted")
		p("  CGIPassAuth On")
		p("</Directory>")
	}
	keys := make([]string, 0, len(o.Env))
	for k := range o.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p("SetEnv %s %s", k, quote(o.Env[k]))
	}
	if o.Directives != "" {
		p("%s", o.Directives)
	}
	return b.String(), nil
}

func onOff(b bool) string {
	if b {
		return "On"
	}
	return "Off"
}

// readyMarker is what a server answers on readyPath: unique to this
// process and port, so a test never mistakes another server for its own.
func readyMarker(port int) string {
	return fmt.Sprintf("apie internal/apache ready pid=%d port=%d", os.Getpid(), port)
}

// mimeTypes is a small mime.types for servers that load mod_mime.
const mimeTypes = `text/plain txt
text/html html htm
application/json json
application/octet-stream bin
`
