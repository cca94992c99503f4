package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/internal/apache"
)

// denyListHtaccess is the .htaccess apie shipped before the allow-list: it
// denied a few names and apie-data/, so Apie's events/ and storage/ were
// served. An install upgraded without it must not go on serving.
const denyListHtaccess = "testdata/htaccess-denylist"

// Layouts whose data Apache would serve, or nearly.
const (
	// Apie's keys: events/ and storage/ beside apie-cgi.
	apieKeysConfig = `{"eventlog": {"path": "events"}, "contentstore": {"path": "storage"}, "auth": {"bcryptCost": 4}}`
	// The blob store beside the install's directory, still in the web root.
	outsideConfig = `{"contentstore": {"path": "../outside-blobs"}, "auth": {"bcryptCost": 4}}`
	// The same, with the server trusted to keep it out of reach.
	trustingConfig = `{"contentstore": {"path": "../trusted-blobs"}, "auth": {"bcryptCost": 4},
	  "cgi": {"trustWebRoot": true}}`
)

// TestCGIRefusesExposedData checks that apie-cgi, under Apache, refuses to
// serve (a JSON 500 saying what to do, the path in the error log only)
// when its files lie in the document root without the shipped .htaccess
// above them: an install that kept the former deny-list .htaccess, and one
// whose blob store lies beside its directory, in the document root and in
// a user directory (/~you/); that the shipped layout and a ScriptAlias'd
// cgi-bin without .htaccess are served; that cgi.trustWebRoot turns the
// check off; and that under nginx, where an .htaccess means nothing,
// apie-cgi serves.
func TestCGIRefusesExposedData(t *testing.T) {
	t.Run("apache", func(t *testing.T) {
		t.Parallel()
		requireApache(t)
		b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
		old := installSite(t, b, o, docRoot, "old", apieKeysConfig, true)
		copyFile(t, denyListHtaccess, filepath.Join(old.dir, ".htaccess"), 0o644)
		outside := installSite(t, b, o, docRoot, "outside", outsideConfig, true)
		trusting := installSite(t, b, o, docRoot, "trusting", trustingConfig, true)
		fine := installSite(t, b, o, docRoot, "fine", apieKeysConfig, true)
		// A user directory, /~you/ from homes/you/public_html/: Apache's
		// DOCUMENT_ROOT is not where the files are served from.
		homes := tempDir(t)
		publicHTML := filepath.Join(homes, "you", "public_html")
		userOutside := installSite(t, b, o, publicHTML, "apie", outsideConfig, true)
		userOutside.urlPath = "/~you/apie/apie-cgi"
		userFine := installSite(t, b, o, publicHTML, "fine", apieKeysConfig, true)
		userFine.urlPath = "/~you/fine/apie-cgi"
		// A ScriptAlias'd cgi-bin runs its files rather than serving them:
		// apie-data/ beside apie-cgi there, with no .htaccess, is fine.
		cgiBin := tempDir(t)
		copyFile(t, b.CGI, filepath.Join(cgiBin, "apie-cgi"), 0o755)
		writeConfig(t, cgiBin, testConfig)
		o.chownTree(t, cgiBin)
		mustRun(t, o, cgiBin, testPassword+"\n", nil, "./apie-cgi", "user", "add", testUser, testInfo)
		scriptAliased := &site{dir: cgiBin, urlPath: "/cgi-bin/apie-cgi"}
		a := startApacheWith(t, apacheModes[0], o, docRoot, func(opts *apache.Options) {
			opts.Modules = append(opts.Modules, "userdir")
			opts.CGIDir = cgiBin
			pattern := filepath.Join(homes, "*", "public_html")
			opts.Directives = "UserDir " + pattern + "\n<Directory " + pattern + ">\n  Options None\n  AllowOverride All\n  Require all granted\n</Directory>"
		})
		for _, c := range []struct {
			s       *site
			exposed string // the path the log must name
		}{
			{old, filepath.Join(old.dir, "events")},
			{outside, filepath.Join(docRoot, "outside-blobs")},
			{userOutside, filepath.Join(publicHTML, "outside-blobs")},
		} {
			tg := newTarget(c.s.urlPath, a.URL(), c.s.urlPath, testUser, testPassword, true)
			for _, path := range []string{"/", "/events", "/storage/" + sha([]byte("x"))} {
				r := tg.do(t, http.MethodGet, path, nil).want(t, http.StatusInternalServerError)
				var e struct {
					ErrorMessage string `json:"errorMessage"`
				}
				r.json(t, &e)
				for _, want := range []string{"inside the web root without the shipped .htaccess", "Deploy on a shared host"} {
					if !strings.Contains(e.ErrorMessage, want) {
						t.Errorf("GET %s%s: the message %q does not say %q", c.s.urlPath, path, e.ErrorMessage, want)
					}
				}
				if strings.Contains(string(r.body), docRoot) {
					t.Errorf("GET %s%s: the client sees a path: %s", c.s.urlPath, path, r.body)
				}
			}
			tg.do(t, http.MethodPost, "/events", []byte(event("refused", "1"))).want(t, http.StatusInternalServerError)
			waitLog(t, apacheLog(a), "apie-cgi cannot start", c.exposed, "apie:allow-list")
		}
		if _, err := os.Stat(filepath.Join(old.dir, "events")); err == nil {
			t.Errorf("a refused append made %s", filepath.Join(old.dir, "events"))
		}
		for _, s := range []*site{trusting, fine, userFine, scriptAliased} {
			tg := newTarget(s.urlPath, a.URL(), s.urlPath, testUser, testPassword, true)
			tg.do(t, http.MethodPost, "/events", []byte(event("served", "1"))).want(t, http.StatusCreated)
			var info struct {
				Config struct {
					CGI struct {
						TrustWebRoot bool `json:"trustWebRoot"`
					} `json:"cgi"`
				} `json:"config"`
			}
			if err := json.Unmarshal(tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK).body, &info); err != nil {
				t.Fatal(err)
			}
			if info.Config.CGI.TrustWebRoot != (s == trusting) {
				t.Errorf("%s: GET /info shows cgi.trustWebRoot %v", s.urlPath, info.Config.CGI.TrustWebRoot)
			}
		}
	})
	t.Run("nginx", func(t *testing.T) {
		t.Parallel()
		requireNginx(t)
		b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
		s := installSite(t, b, o, docRoot, "bare", apieKeysConfig, true)
		if err := os.Remove(filepath.Join(s.dir, ".htaccess")); err != nil {
			t.Fatal(err)
		}
		n := startNginx(t, o, docRoot, "/bare")
		tg := newTarget(s.urlPath, n.origin, s.urlPath, testUser, testPassword, true)
		tg.do(t, http.MethodPost, "/events", []byte(event("served", "1"))).want(t, http.StatusCreated)
	})
}
