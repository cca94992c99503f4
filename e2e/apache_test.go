package e2e

import (
	"cmp"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Where Debian's apache2 package puts the server and its modules.
const (
	apacheBin     = "/usr/sbin/apache2"
	apacheModules = "/usr/lib/apache2/modules"
)

// apacheMode is one way Apache runs CGI programs.
type apacheMode struct {
	name      string
	mpm       string // mod_mpm_<mpm>.so
	cgiModule string // "cgi" (forks from the worker) or "cgid" (a CGI daemon)
	override  string // AllowOverride for the document root; "" is All
}

// apacheModes are the configurations apie-cgi is tested under: the classic
// prefork + mod_cgi, and the threaded event MPM with mod_cgid.
var apacheModes = []apacheMode{
	{name: "apache-prefork-cgi", mpm: "prefork", cgiModule: "cgi"},
	{name: "apache-event-cgid", mpm: "event", cgiModule: "cgid"},
}

// requireApache skips the test when Apache is not installed, or fails it
// when APIE_REQUIRE_APACHE=1.
func requireApache(t testing.TB) {
	t.Helper()
	var missing []string
	for _, p := range []string{apacheBin, filepath.Join(apacheModules, "mod_cgi.so"), filepath.Join(apacheModules, "mod_cgid.so")} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "Apache 2.4 is not installed (missing " + strings.Join(missing, ", ") + "); apt-get install apache2"
	if os.Getenv("APIE_REQUIRE_APACHE") == "1" {
		t.Fatalf("APIE_REQUIRE_APACHE=1 but %s", msg)
	}
	t.Skip(msg)
}

// apache is a private Apache started by the test, as the test's user (or,
// when root, switching its children to the owner of apie's files).
type apache struct {
	mode     apacheMode
	origin   string // http://127.0.0.1:port
	docRoot  string // DocumentRoot, AllowOverride All
	errorLog string
	owner    owner
	p        *proc
}

// startApache writes a minimal httpd.conf into a temporary ServerRoot and
// starts Apache in the foreground on a free port. docRoot must already
// hold what the test wants served; .htaccess files are read per request,
// so sites may also be installed after the start. Apache is stopped, and
// every process it started killed, when the test ends.
func startApache(t testing.TB, mode apacheMode, o owner, docRoot string) *apache {
	t.Helper()
	requireApache(t)
	root := filepath.Join(tempDir(t), "apache")
	for _, d := range []string{root, filepath.Join(root, "run"), filepath.Join(root, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("make %s: %v", d, err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "mime.types"), []byte("text/plain txt\n"), 0o644); err != nil {
		t.Fatalf("write mime.types: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "ready"), 0o755); err != nil {
		t.Fatalf("make ready directory: %v", err)
	}
	a := &apache{mode: mode, docRoot: docRoot, errorLog: filepath.Join(root, "logs", "error.log"), owner: o}
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		ready := filepath.Join(root, "ready", "ready.txt")
		if err := os.WriteFile(ready, []byte(readyMarker(port)), 0o644); err != nil {
			t.Fatalf("write %s: %v", ready, err)
		}
		conf := filepath.Join(root, "httpd.conf")
		if err := os.WriteFile(conf, []byte(a.config(root, port)), 0o644); err != nil {
			t.Fatalf("write %s: %v", conf, err)
		}
		if out, err := exec.Command(apacheBin, "-d", root, "-f", conf, "-t").CombinedOutput(); err != nil {
			t.Fatalf("apache2 -t rejects the test's httpd.conf: %v\n%s", err, out)
		}
		cmd := exec.Command(apacheBin, "-d", root, "-f", conf, "-DFOREGROUND")
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
		// SIGTERM stops Apache and its children at once; SIGWINCH would
		// wait for requests in flight (graceful-stop), which a test that
		// failed mid-request does not want.
		a.p = startProc(t, "apache ("+mode.name+")", cmd, syscall.SIGTERM, 15*time.Second)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if waitReady(a.p, "http://"+addr+"/e2e-ready", readyMarker(port), 15*time.Second) {
			a.origin = "http://" + addr
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("apache error log (%s):\n%s", mode.name, a.log())
					access, _ := os.ReadFile(filepath.Join(root, "logs", "access.log"))
					t.Logf("apache access log (%s):\n%s", mode.name, access)
				}
			})
			return a
		}
		a.p.stop(t, syscall.SIGTERM, 5*time.Second)
		if !strings.Contains(a.log()+a.p.out.String(), "Address already in use") {
			break
		}
	}
	t.Fatalf("apache (%s) did not start: %v\n%s\n%s", mode.name, a.p.err, a.p.out.String(), a.log())
	return nil
}

// config is the whole httpd.conf: only the modules apie-cgi needs, one
// DocumentRoot with AllowOverride All, everything else in root.
func (a *apache) config(root string, port int) string {
	var b strings.Builder
	mod := func(name, file string) {
		fmt.Fprintf(&b, "LoadModule %s_module %s/mod_%s.so\n", name, apacheModules, file)
	}
	mod("mpm_"+a.mode.mpm, "mpm_"+a.mode.mpm)
	for _, m := range []string{"authz_core", "mime", a.mode.cgiModule, "setenvif", "rewrite", "dir", "alias", "env"} {
		mod(m, m)
	}
	if !apacheHasBuiltin("mod_version.c") {
		mod("version", "version")
	}
	fmt.Fprintf(&b, `ServerRoot %[1]q
ServerName 127.0.0.1
Listen 127.0.0.1:%[2]d
PidFile %[1]s/run/httpd.pid
DefaultRuntimeDir %[1]s/run
Mutex file:%[1]s/run default
ErrorLog %[1]s/logs/error.log
LogLevel warn
LogFormat "%%h %%u %%r %%>s %%b %%D" e2e
CustomLog %[1]s/logs/access.log e2e
TypesConfig %[1]s/mime.types
Timeout 60
KeepAlive On
DocumentRoot %[3]q
SetEnv APIE_E2E_SECRET e2e-secret-must-not-leak
<Directory />
    AllowOverride None
    Require all denied
</Directory>
Alias /e2e-ready %[1]s/ready/ready.txt
<Directory %[1]s/ready>
    Require all granted
</Directory>
<Directory %[3]q>
    Options None
    AllowOverride %[4]s
    Require all granted
</Directory>
`, root, port, a.docRoot, cmp.Or(a.mode.override, "All"))
	switch a.mode.mpm {
	case "prefork":
		b.WriteString("StartServers 2\nMinSpareServers 2\nMaxSpareServers 8\nServerLimit 24\nMaxRequestWorkers 24\n")
	case "event":
		b.WriteString("StartServers 1\nServerLimit 3\nThreadsPerChild 16\nMinSpareThreads 4\nMaxSpareThreads 32\nMaxRequestWorkers 48\n")
	}
	if a.mode.cgiModule == "cgid" {
		fmt.Fprintf(&b, "ScriptSock %s/run/cgisock\n", root)
	}
	if a.owner.cred != nil {
		fmt.Fprintf(&b, "User %s\nGroup %s\n", a.owner.name, a.owner.group())
	}
	return b.String()
}

// readyMarker is what a server the test started answers on /e2e-ready:
// unique to this test process and port.
func readyMarker(port int) string {
	return fmt.Sprintf("apie-e2e-ready pid=%d port=%d", os.Getpid(), port)
}

// apacheHasBuiltin reports whether apache2 -l lists module (like
// "mod_version.c") as compiled in.
func apacheHasBuiltin(module string) bool {
	out, err := exec.Command(apacheBin, "-l").Output()
	return err == nil && strings.Contains(string(out), module)
}

// log returns Apache's error log so far.
func (a *apache) log() string {
	b, err := os.ReadFile(a.errorLog)
	if err != nil {
		return "(no error log: " + err.Error() + ")"
	}
	return string(b)
}
