package e2e

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/config"
)

// exposureLayout is one way of arranging an install's files, by the
// apie.json beside apie-cgi: the web server must serve none of them,
// whatever they are called and however deep they lie.
type exposureLayout struct {
	name string
	cfg  string
}

var exposureLayouts = []exposureLayout{
	{"default", testConfig}, // apie-data/ beside apie-cgi
	{"apie-keys", `{"eventlog": {"path": "events"}, "contentstore": {"path": "storage"}, "auth": {"bcryptCost": 4}}`},
	{"custom", `{"eventlog": {"path": "journal"}, "contentstore": {"path": "uploads"},
	  "passwd": {"path": "users.txt"}, "auth": {"bcryptCost": 4, "tokenKey": "hmac.key"}}`},
	{"nested", `{"eventlog": {"path": "data/x/events"}, "contentstore": {"path": "data/x/blobs"},
	  "passwd": {"path": "data/x/passwd"}, "auth": {"bcryptCost": 4, "tokenKey": "data/x/token.key"}}`},
}

// secretBlob is an uploaded page that would run on the site's origin if
// the web server served the blob's file.
var secretBlob = []byte("<html><script>alert('do-not-serve-me')</script></html>")

// exposureSite is an install of one layout under a web server.
type exposureSite struct {
	*site
	layout exposureLayout
	pretty bool // the .htaccess's pretty URLs are on
}

// TestNoInstallFileIsServed installs apie-cgi in each layout under each
// web server (Apache prefork + mod_cgi, event + mod_cgid, the smallest
// AllowOverride, and nginx + fcgiwrap with the NGINX.md snippet), fills
// the stores, and then asks for every file and directory of every
// install — found by walking the install, so a file a new version adds
// is asked for too — without credentials, plainly and disguised: each
// answer must be 403, 404 (or 400 for a disguise) and must not hold the
// file's bytes. The API must still work through apie-cgi, and through the
// .htaccess's pretty URLs where they are on.
func TestNoInstallFileIsServed(t *testing.T) {
	type host struct {
		name    string
		mode    apacheMode
		isNginx bool
	}
	hosts := []host{}
	for _, m := range apacheModes {
		hosts = append(hosts, host{name: m.name, mode: m})
	}
	hosts = append(hosts,
		host{name: "apache-prefork-cgi-minimal-override", mode: apacheMode{mpm: apacheModes[0].mpm, workers: 24,
			override: "Options=ExecCGI,Indexes FileInfo AuthConfig"}},
		host{name: "nginx-fcgiwrap", isNginx: true})
	for _, hst := range hosts {
		t.Run(hst.name, func(t *testing.T) {
			t.Parallel()
			if hst.isNginx {
				requireNginx(t)
			} else {
				requireApache(t)
			}
			b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
			var sites []*exposureSite
			var prefixes []string
			for _, l := range exposureLayouts {
				s := &exposureSite{site: installSite(t, b, o, docRoot, l.name, l.cfg, true), layout: l}
				if hst.isNginx {
					// NGINX.md: nginx ignores the .htaccess; the snippet
					// alone must do.
					if err := os.Remove(filepath.Join(s.dir, ".htaccess")); err != nil {
						t.Fatal(err)
					}
				}
				sites = append(sites, s)
				prefixes = append(prefixes, "/"+l.name)
			}
			if !hst.isNginx && hst.mode.override == "" {
				l := exposureLayouts[1]
				s := &exposureSite{site: installSite(t, b, o, docRoot, "pretty", l.cfg, true), layout: l, pretty: true}
				editHtaccess(t, filepath.Join(s.dir, ".htaccess"), prettyURLs...)
				sites = append(sites, s)
			}
			var origin string
			if hst.isNginx {
				origin = startNginx(t, o, docRoot, prefixes...).origin
			} else {
				origin = startApache(t, hst.mode, o, docRoot).URL()
			}
			for _, s := range sites {
				t.Run(s.layout.name+map[bool]string{true: "-pretty"}[s.pretty], func(t *testing.T) {
					fillSite(t, o, origin, s)
					checkNothingServed(t, origin, s)
				})
			}
		})
	}
}

// fillSite writes through the API what makes every kind of file: an
// event, a blob, a token key, passwd's lock, and it leaves an upload's
// temporary file behind as a killed upload would; then it checks that
// the API serves them back to their user and to nobody else.
func fillSite(t *testing.T, o owner, origin string, s *exposureSite) {
	tg := newTarget(s.urlPath, origin, s.urlPath, testUser, testPassword, true)
	if s.pretty {
		tg.base = strings.TrimSuffix(s.urlPath, "apie-cgi") + "api"
	}
	tg.do(t, http.MethodPost, "/events", []byte(event("secret.kept", `{"s":"do-not-serve-me"}`))).want(t, http.StatusCreated)
	tg.do(t, http.MethodPut, "/storage/page.html", secretBlob, header("Content-Type", "text/html")).want(t, http.StatusCreated)
	tg.do(t, http.MethodPost, "/auth/token", nil).want(t, http.StatusOK)
	tg.do(t, http.MethodPost, "/user/update", []byte(`{"info":"Alice, e2e"}`)).want(t, http.StatusOK) // leaves passwd's lock

	cfg, err := config.Parse([]byte(s.layout.cfg), s.dir)
	if err != nil {
		t.Fatalf("layout %s: %v", s.layout.name, err)
	}
	tmp := filepath.Join(cfg.ContentStore.Path, "tmp", "killed-upload.part")
	if err := os.WriteFile(tmp, []byte("half an upload, do-not-serve-me"), 0o640); err != nil {
		t.Fatalf("leave an upload's temporary file: %v", err)
	}
	o.chownTree(t, filepath.Dir(tmp))
	for _, p := range []string{cfg.EventLog.Path + "/log", cfg.Passwd.Path, cfg.Passwd.Path + ".lock", cfg.Auth.TokenKey} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("layout %s should have made %s: %v", s.layout.name, p, err)
		}
	}

	r := tg.do(t, http.MethodGet, "/events", nil).want(t, http.StatusOK)
	if !bytes.Contains(r.body, []byte("do-not-serve-me")) {
		t.Errorf("GET %s/events does not hold the event: %q", tg.base, truncate(r.body))
	}
	r = tg.do(t, http.MethodGet, "/storage/"+sha(secretBlob), nil).want(t, http.StatusOK)
	if !bytes.Equal(r.body, secretBlob) {
		t.Errorf("GET %s/storage/<hash>: got %q", tg.base, truncate(r.body))
	}
	tg.do(t, http.MethodGet, "/events", nil, noAuth()).want(t, http.StatusUnauthorized)
}

// checkNothingServed asks, without credentials, for every file and
// directory of the install at s but apie-cgi, in every disguise.
func checkNothingServed(t *testing.T, origin string, s *exposureSite) {
	client := newTarget("raw", origin, "", "", "", false)
	dirURL := strings.TrimSuffix(s.urlPath, "/apie-cgi")
	asked := 0
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		if rel == "apie-cgi" {
			return nil
		}
		var content []byte
		if !d.IsDir() {
			if content, err = os.ReadFile(p); err != nil {
				return err
			}
		}
		disguises := exposureDisguises(dirURL, filepath.ToSlash(rel), d.IsDir())
		if d.IsDir() && rel != "." {
			// The blob store makes a directory for every first byte of a
			// hash: ask for the empty ones plainly only.
			if entries, err := os.ReadDir(p); err == nil && len(entries) == 0 {
				disguises = disguises[:1]
			}
		}
		for i, u := range disguises {
			methods := []string{http.MethodGet}
			if i == 0 {
				methods = append(methods, http.MethodHead)
			}
			for _, method := range methods {
				asked++
				r := client.do(t, method, origin+u, nil, noAuth(), rawErrors())
				refused := r.status == http.StatusForbidden || r.status == http.StatusNotFound ||
					(r.status == http.StatusBadRequest && i > 0) ||
					// nginx sends the directory's name without its slash
					// to the slash, where it is refused.
					(r.status == http.StatusMovedPermanently && u == dirURL && strings.HasSuffix(r.header.Get("Location"), dirURL+"/"))
				if !refused {
					t.Errorf("%s %s (%s): got status %d, want 403 or 404; body %q", method, u, rel, r.status, truncate(r.body))
				}
				if len(content) >= 6 && bytes.Contains(r.body, content[:min(len(content), 48)]) {
					t.Errorf("%s %s: the answer holds the bytes of %s", method, u, rel)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", s.dir, err)
	}
	t.Logf("%d requests for the files of %s, all refused", asked, s.dir)
}

// exposureDisguises are the URL paths a request for rel (a path inside the
// install directory at dirURL, "." for the directory itself) might take:
// plain first, then with doubled slashes, dot segments (plain and
// percent-encoded), encoded slashes, a detour through apie-cgi, a query,
// a trailing slash or dot, and an encoded letter.
func exposureDisguises(dirURL, rel string, isDir bool) []string {
	if rel == "." {
		return []string{dirURL + "/", dirURL, dirURL + "//", dirURL + "/.", dirURL + "/%2e/", dirURL + "/?x=1",
			dirURL + "/apie-cgi/../", dirURL + "/apie-cgi/%2e%2e/"}
	}
	first, rest, _ := strings.Cut(rel, "/")
	us := []string{
		dirURL + "/" + rel,
		dirURL + "//" + rel,
		dirURL + "/" + strings.ReplaceAll(rel, "/", "//"),
		dirURL + "/./" + rel,
		dirURL + "/%2e/" + rel,
		dirURL + "/apie-cgi/../" + rel,
		dirURL + "/apie-cgi/%2e%2e/" + rel,
		dirURL + "/nowhere/../" + rel,
		dirURL + "%2f" + rel,
		dirURL + "/" + strings.ReplaceAll(rel, "/", "%2f"),
		dirURL + "/" + strings.ReplaceAll(rel, ".", "%2e"),
		dirURL + "/" + rel + "?x=1",
		dirURL + "/" + rel + "/",
		dirURL + "/" + rel + ".",
		dirURL + "/" + rel + "/.",
		dirURL + "/" + "%" + strings.ToUpper(hexByte(rel[0])) + rel[1:],
	}
	if rest != "" {
		us = append(us, dirURL+"/"+first+"/%2e%2e/"+rel)
	}
	if isDir {
		us = append(us, dirURL+"/"+rel+"//", dirURL+"/"+rel+"/?C=M;O=D")
	} else {
		us = append(us, dirURL+"/"+rel+"%00", dirURL+"/"+rel+";x=1")
	}
	return us
}

// hexByte is b in two hex digits.
func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}
