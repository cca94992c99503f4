package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"apie/internal/apache"
	"apie/internal/testutil"
)

// apacheMode is one way Apache runs CGI programs.
type apacheMode struct {
	name     string
	mpm      apache.MPM // prefork + mod_cgi (forks from the worker), or event + mod_cgid (a CGI daemon)
	workers  int        // MaxRequestWorkers
	override string     // AllowOverride for the document root; "" is All
}

// apacheModes are the configurations apie-cgi is tested under: the classic
// prefork + mod_cgi, and the threaded event MPM with mod_cgid.
var apacheModes = []apacheMode{
	{name: "apache-prefork-cgi", mpm: apache.Prefork, workers: 24},
	{name: "apache-event-cgid", mpm: apache.Event, workers: 48},
}

// requireApache skips the test when Apache is not installed, or fails it
// when APIE_REQUIRE_APACHE=1.
func requireApache(t testing.TB) {
	t.Helper()
	if _, _, err := apache.Find(); err != nil {
		testutil.SkipOrFail(t, "APIE_REQUIRE_APACHE", err.Error()+"; apt-get install apache2")
	}
}

// startApache starts a private Apache (internal/apache) on a free port,
// serving docRoot as a shared host would: Options None and the mode's
// AllowOverride, so the shipped .htaccess must ask for what apie-cgi
// needs. docRoot must already hold what the test wants served;
// .htaccess files are read per request, so sites may also be installed
// after the start. When the test runs as root, Apache's children run as
// o. Apache is stopped, and every process it started killed, when the
// test ends.
func startApache(t testing.TB, mode apacheMode, o owner, docRoot string) *apache.Server {
	t.Helper()
	return startApacheWith(t, mode, o, docRoot, nil)
}

// startApacheWith is startApache with the options changed by edit first
// (nil for none): more modules, directives, a cgi-bin.
func startApacheWith(t testing.TB, mode apacheMode, o owner, docRoot string, edit func(*apache.Options)) *apache.Server {
	t.Helper()
	requireApache(t)
	opts := apache.Options{
		Dir:            filepath.Join(tempDir(t), "apache"),
		MPM:            mode.mpm,
		MaxWorkers:     mode.workers,
		DocRoot:        docRoot,
		DocRootOptions: "None",
		AllowOverride:  mode.override,
		Modules:        []string{"mime", "setenvif", "rewrite", "dir", "version"},
		Env:            map[string]string{"APIE_E2E_SECRET": "e2e-secret-must-not-leak"},
		KeepAlive:      true,
		AccessLog:      true,
		PickPort:       testutil.PickPort,
	}
	if o.cred != nil {
		opts.User, opts.Group = o.name, o.group()
	}
	if edit != nil {
		edit(&opts)
	}
	a, err := apache.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("apache (%s) did not start: %v", mode.name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := a.ErrorLog()
			t.Logf("apache error log (%s):\n%s", mode.name, log)
			access, _ := os.ReadFile(a.AccessLogPath())
			t.Logf("apache access log (%s):\n%s", mode.name, access)
		}
		// SIGTERM stops Apache and its children at once; SIGWINCH would
		// wait for requests in flight (graceful-stop), which a test that
		// failed mid-request does not want.
		if err := a.Stop(context.Background()); err != nil {
			t.Errorf("stop apache (%s): %v", mode.name, err)
		}
	})
	return a
}

// apacheLog returns a's error log so far.
func apacheLog(a *apache.Server) func() string {
	return func() string {
		log, err := a.ErrorLog()
		if err != nil {
			return log + "\n(error log: " + err.Error() + ")"
		}
		return log
	}
}
