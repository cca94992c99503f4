package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminFindsSiteConfig follows the README's "keep the config outside
// the web root" step: apie.json in a private directory, named by a
// `SetEnv APIE_CONFIG` line in the .htaccess. `./apie-cgi user add` run
// over SSH from the install directory must write the users file that
// config names (Apache passes the SetEnv to requests; a shell never sees
// it), and `apie-cgi -config FILE` must reach it from anywhere.
func TestAdminFindsSiteConfig(t *testing.T) {
	requireApache(t)
	b, o, docRoot, private := binaries(t), webOwner(t), tempDir(t), tempDir(t)
	cfg := writeConfig(t, private, testConfig)
	dir := filepath.Join(docRoot, "apie")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, b.CGI, filepath.Join(dir, "apie-cgi"), 0o755)
	htaccess := filepath.Join(dir, ".htaccess")
	copyFile(t, shippedHtaccess, htaccess, 0o644)
	f, err := os.OpenFile(htaccess, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\nSetEnv APIE_CONFIG \"" + cfg + "\"\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	o.chownTree(t, dir)
	o.chownTree(t, private)
	a := startApache(t, apacheModes[0], o, docRoot)

	out := mustRun(t, o, dir, testPassword+"\n", nil, "./apie-cgi", "user", "add", testUser, testInfo)
	if want := filepath.Join(private, "apie-data", "passwd"); !strings.Contains(out, want) {
		t.Errorf("user add does not say it wrote %s:\n%s", want, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "apie-data")); err == nil {
		t.Errorf("user add made apie-data/ under the web root, which the site never reads")
	}
	tg := newTarget("apie", a.URL(), "/apie/apie-cgi", testUser, testPassword, true)
	var info struct {
		Config struct {
			Source string `json:"source"`
		} `json:"config"`
	}
	tg.do(t, "GET", "/info", nil).want(t, http.StatusOK).json(t, &info)
	if info.Config.Source != cfg {
		t.Errorf("the site runs with config %q, want %q", info.Config.Source, cfg)
	}

	// -config, from a directory with no config and no .htaccess, with the
	// binary outside the site.
	elsewhere := tempDir(t)
	o.chownTree(t, elsewhere)
	out = mustRun(t, o, elsewhere, "second password\n", nil, b.CGI, "-config", cfg, "user", "add", "bob@example.org")
	if !strings.Contains(out, "added bob@example.org") {
		t.Errorf("user add with -config: %s", out)
	}
	tg.do(t, "GET", "/info", nil, basic("bob@example.org", "second password")).want(t, http.StatusOK)
	if out := mustRun(t, o, elsewhere, "", nil, b.CGI, "-config", cfg, "user", "list"); !strings.Contains(out, testUser) || !strings.Contains(out, "bob@example.org") {
		t.Errorf("user list with -config:\n%s", out)
	}
}
