package e2e

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkProtected fills the sites' stores (an event, a blob, a token key,
// passwd and its lock) and then asks the web server for every file and
// directory of each install but apie-cgi itself, plainly and in disguise:
// each answer must be 403 or 404 and must not hold the file's content.
func checkProtected(t *testing.T, h *cgiHost) {
	for _, s := range []*site{h.ok, h.beside} {
		tg := h.target(s)
		tg.do(t, http.MethodPost, "/events", []byte(event("secret.kept", `{"s":"do-not-serve-me"}`))).want(t, http.StatusCreated)
		tg.do(t, http.MethodPut, "/storage/secret.txt", []byte("blob bytes, do-not-serve-me")).want(t, http.StatusCreated)
		tg.do(t, http.MethodPost, "/auth/token", nil).want(t, http.StatusOK)
		tg.do(t, http.MethodPost, "/user/update", []byte(`{"info":"Alice, e2e"}`)).want(t, http.StatusOK) // leaves passwd.lock
	}
	for _, name := range []string{"passwd", "passwd.lock", "token.key"} {
		if _, err := os.Stat(filepath.Join(h.beside.dir, name)); err != nil {
			t.Fatalf("the beside site should keep %s beside apie-cgi: %v", name, err)
		}
	}
	for _, name := range []string{"apie-data/passwd", "apie-data/passwd.lock", "apie-data/token.key", "apie-data/events/log"} {
		if _, err := os.Stat(filepath.Join(h.ok.dir, name)); err != nil {
			t.Fatalf("the default site should keep %s: %v", name, err)
		}
	}
	client := newTarget("raw", h.origin, "", "", "", true)
	for _, s := range []*site{h.ok, h.beside} {
		dirURL := strings.TrimSuffix(s.urlPath, "/apie-cgi")
		err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(s.dir, p)
			if rel == "apie-cgi" {
				return nil
			}
			var content []byte
			if !d.IsDir() {
				if content, err = os.ReadFile(p); err != nil {
					return err
				}
			}
			for i, u := range disguises(dirURL, filepath.ToSlash(rel), d.IsDir()) {
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					r := client.do(t, method, h.origin+u, nil, noAuth(), rawErrors())
					// A server may call a disguise malformed (400); the
					// plain path must be forbidden or absent.
					refused := r.status == http.StatusForbidden || r.status == http.StatusNotFound ||
						(r.status == http.StatusBadRequest && i > 0)
					if !refused {
						t.Errorf("%s %s: got status %d, want 403 or 404; body %q", method, u, r.status, truncate(r.body))
					}
					if len(content) > 0 && bytes.Contains(r.body, content[:min(len(content), 48)]) {
						t.Errorf("%s %s: the answer holds the file's content", method, u)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", s.dir, err)
		}
	}
}

// disguises are the URL paths a request for rel (a path inside the
// install directory at dirURL) might try: plain (first), with a trailing slash,
// percent-encoded, with dot and double slashes, and through the script.
func disguises(dirURL, rel string, isDir bool) []string {
	if rel == "." {
		return []string{dirURL + "/", dirURL + "//"}
	}
	us := []string{
		dirURL + "/" + rel,
		dirURL + "//" + rel,
		dirURL + "/./" + rel,
		dirURL + "/apie-cgi/../" + rel,
		dirURL + "/" + strings.ReplaceAll(rel, "-", "%2D"),
		dirURL + "/" + strings.ReplaceAll(rel, "a", "%61"),
	}
	if isDir {
		us = append(us, dirURL+"/"+rel+"/")
	} else {
		us = append(us, dirURL+"/"+rel+"?download=1", dirURL+"/"+rel+"%00")
	}
	return us
}
