package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"apie/internal/apache"
	"apie/internal/testutil"
)

// brokenConfig is an apie.json apie must refuse: an unknown key and a bad
// mode, each named in the error log.
const brokenConfig = `{"eventlog": {"fileMode": "rwxrwxrwz"}, "surprise": true}`

// besideConfig keeps passwd and the token key beside apie-cgi instead of
// in apie-data/, so the .htaccess rules for those names are put to work.
const besideConfig = `{
  "passwd": {"path": "passwd"},
  "auth": {"bcryptCost": 4, "tokenKey": "token.key"}
}
`

// cgiHost is a web server with apie-cgi installed in several directories
// of its document root, as the CGI tests need them.
type cgiHost struct {
	origin   string
	errorLog func() string
	ok       *site // a working install
	broken   *site // apie.json refused
	beside   *site // passwd and token.key beside apie-cgi
	fallback *site // the .htaccess's pre-2.4.13 Authorization fallback in force (Apache only)
	pretty   *site // the .htaccess's optional pretty URLs turned on (Apache only)
	dechunks bool  // the server turns chunked bodies into ones with a length (nginx)
}

// installCGISites installs the sites of a cgiHost into docRoot.
// With onApache, it adds the sites for the .htaccess's variants; the pretty
// URLs only where AllowOverride allows FollowSymLinks (mode.override "").
func installCGISites(t *testing.T, b testutil.Binaries, o owner, docRoot string, onApache bool, mode apacheMode) *cgiHost {
	h := &cgiHost{
		ok:     installSite(t, b, o, docRoot, "apie", testConfig, true),
		broken: installSite(t, b, o, docRoot, "broken", brokenConfig, false),
		beside: installSite(t, b, o, docRoot, "beside", besideConfig, true),
	}
	if onApache {
		h.fallback = installSite(t, b, o, docRoot, "fallback", testConfig, true)
		forceAuthFallback(t, filepath.Join(h.fallback.dir, ".htaccess"))
	}
	if onApache && mode.override == "" {
		h.pretty = installSite(t, b, o, docRoot, "pretty", testConfig, true)
		editHtaccess(t, filepath.Join(h.pretty.dir, ".htaccess"), prettyURLs...)
		forceAuthFallback(t, filepath.Join(h.pretty.dir, ".htaccess"))
	}
	return h
}

// forceAuthFallback rewrites a copy of the shipped .htaccess so that its
// branch for Apache older than 2.4.13 (no CGIPassAuth: the header copied
// into the environment) is the one in force on this newer Apache.
func forceAuthFallback(t *testing.T, path string) {
	editHtaccess(t, path, "<IfVersion >= 2.4.13>", "<IfVersion >= 99>", "<IfVersion < 2.4.13>", "<IfVersion < 99>")
}

// prettyURLs are the edits that turn on the shipped .htaccess's optional
// pretty URLs, as its comment tells a user to.
var prettyURLs = []string{
	"#<Files \"api\">", "<Files \"api\">",
	"#    Require all granted", "    Require all granted",
	"#</Files>", "</Files>",
	"#Options +FollowSymLinks", "Options +FollowSymLinks",
	"#RewriteEngine On", "RewriteEngine On",
	"#RewriteRule ^api$", "RewriteRule ^api$",
	"#RewriteRule ^api/", "RewriteRule ^api/",
}

// editHtaccess replaces, in the .htaccess at path, each from with its to
// (given as pairs); each from must be there.
func editHtaccess(t *testing.T, path string, pairs ...string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("the shipped .htaccess has no %q: update this test with it", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// cgiHosts starts every web server apie-cgi is tested under, each with
// the CGI test sites, and runs fn for each as a parallel subtest.
func cgiHosts(t *testing.T, fn func(t *testing.T, h *cgiHost)) {
	// Shared hosts often allow less than AllowOverride All: the .htaccess
	// must work with what its header says it needs.
	minimal := apacheMode{name: "apache-prefork-cgi-minimal-override", mpm: apache.Prefork, workers: 24,
		override: "Options=ExecCGI,Indexes FileInfo AuthConfig"}
	for _, m := range append(apacheModes, minimal) {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			requireApache(t)
			b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
			h := installCGISites(t, b, o, docRoot, true, m)
			a := startApache(t, m, o, docRoot)
			h.origin, h.errorLog = a.URL(), apacheLog(a)
			fn(t, h)
		})
	}
	t.Run("nginx-fcgiwrap", func(t *testing.T) {
		t.Parallel()
		requireNginx(t)
		b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
		h := installCGISites(t, b, o, docRoot, false, apacheMode{})
		n := startNginx(t, o, docRoot, "")
		h.origin, h.dechunks = n.origin, true
		h.errorLog = func() string { b, _ := os.ReadFile(n.errorLog); return string(b) }
		fn(t, h)
	})
}

// target is a client for one of the host's sites.
func (h *cgiHost) target(s *site) *target {
	return newTarget(s.urlPath, h.origin, s.urlPath, testUser, testPassword, true)
}

// TestCGIEdge checks what only the CGI edge does, under each web server.
func TestCGIEdge(t *testing.T) {
	cgiHosts(t, func(t *testing.T, h *cgiHost) {
		t.Run("a chunked body without Content-Length gets 411", func(t *testing.T) {
			// nginx reads a chunked body whole and hands it on with its
			// length, so apie-cgi never sees one without: it is stored.
			want, count := http.StatusLengthRequired, "0"
			if h.dechunks {
				want, count = http.StatusCreated, "1"
			}
			tg := h.target(h.ok)
			tg.do(t, http.MethodPost, "/events", []byte(event("chunked", "1")), chunked()).want(t, want)
			tg.do(t, http.MethodPut, "/storage/c.txt", []byte("chunked blob"), chunked()).want(t, want)
			tg.do(t, http.MethodHead, "/events", nil).want(t, http.StatusOK).wantHeader(t, "X-Apie-Count", count)
			tg.do(t, http.MethodGet, "/storage/"+sha([]byte("chunked blob")), nil).want(t, map[bool]int{true: 200, false: 404}[h.dechunks])
		})
		t.Run("a broken apie.json: JSON 500 to the client, the detail in the error log", func(t *testing.T) {
			tg := h.target(h.broken)
			for _, path := range []string{"/events", "/"} {
				r := tg.do(t, http.MethodGet, path, nil).want(t, http.StatusInternalServerError)
				for _, leak := range []string{"goroutine", "panic", "surprise", "rwxrwxrwz", h.broken.dir} {
					if strings.Contains(string(r.body), leak) {
						t.Errorf("GET %s: the client sees %q: %s", path, leak, r.body)
					}
				}
			}
			waitLog(t, h.errorLog, "apie-cgi cannot start", "unknown field", "surprise")
		})
		t.Run("API paths that name apie-data still reach apie-cgi", func(t *testing.T) {
			tg := h.target(h.ok)
			data := []byte("a blob whose name is apie-data")
			r := tg.do(t, http.MethodPut, "/storage/apie-data", data).want(t, http.StatusCreated)
			var b blobReply
			r.json(t, &b)
			if b.Filename != "apie-data" {
				t.Errorf("got filename %q, want apie-data", b.Filename)
			}
			tg.do(t, http.MethodGet, "/storage/"+sha(data), nil).want(t, http.StatusOK).
				wantHeader(t, "Content-Disposition", "inline; filename=apie-data")
		})
		t.Run("config, passwd, keys and data are out of the web's reach", func(t *testing.T) {
			checkProtected(t, h)
		})
		// The .htaccess variants apply to Apache only; the pretty URLs need
		// FollowSymLinks allowed in .htaccess.
		if h.pretty != nil {
			t.Run("the optional pretty URLs reach apie-cgi, with Authorization", func(t *testing.T) { checkPretty(t, h) })
		}
		if h.fallback != nil {
			t.Run("Authorization reaches apie-cgi through the .htaccess fallback", func(t *testing.T) {
				tg := h.target(h.fallback)
				tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK)
				tg.do(t, http.MethodGet, "/info", nil, basic(testUser, "wrong")).want(t, http.StatusUnauthorized)
				tg.do(t, http.MethodGet, "/info", nil, noAuth()).want(t, http.StatusUnauthorized)
			})
		}
	})
}

// checkPretty uses the pretty-URL site: /<dir>/api/... for /<dir>/apie-cgi/...
func checkPretty(t *testing.T, h *cgiHost) {
	tg := newTarget("pretty", h.origin, strings.TrimSuffix(h.pretty.urlPath, "apie-cgi")+"api", testUser, testPassword, true)
	if r := tg.do(t, http.MethodGet, "", nil, noAuth()).want(t, http.StatusOK); !strings.HasPrefix(string(r.body), "Apie ") {
		t.Errorf("GET %s: got %q, want Apie's root", tg.base, r.body)
	}
	tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK)
	tg.do(t, http.MethodGet, "/info", nil, noAuth()).want(t, http.StatusUnauthorized)
	r := tg.do(t, http.MethodPost, "/events", []byte(event("pretty", "1"))).want(t, http.StatusCreated)
	// The script's own path is the base apie knows: Location
	// points through apie-cgi, which works as well.
	tg.do(t, http.MethodGet, h.origin+r.header.Get("Location"), nil).want(t, http.StatusOK)
}

// waitLog waits a little for every one of words to be in the log (a web
// server may write a CGI program's stderr after the answer).
func waitLog(t *testing.T, log func() string, words ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := log()
		missing := ""
		for _, w := range words {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the error log does not name %q:\n%s", missing, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
