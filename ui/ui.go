// Package ui is apie's web page: sign in, the log as a live table, an
// event's detail with its hash checked in the browser (and, for admins,
// erasing its body), appending, blobs.
// Its files are kept here as they are served — HTML, one script module,
// one style sheet, no bundler — and embedded in the binary; the client
// module it runs on, apie.js, comes from package js. The page holds no
// data: everything it shows it fetches from the API with the user's
// token, so its files are served without auth.
//
// Every answer carries a strict Content-Security-Policy (scripts, styles
// and connections to the page's own origin only; no inline script or
// style; images also from blob: URLs, for previews of the user's own
// blobs), nosniff, and a strong ETag; the files are revalidated on each
// load (no-cache), so an upgraded binary's page is used at once.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"time"

	js "apie/clients/js"
)

//go:embed index.html app.js style.css icon.svg
var files embed.FS

// CSP is the Content-Security-Policy of every answer of the page.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; " +
	"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

type file struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the page's files. Paths are the page's own: "/" (the
// HTML), "/app.js", "/style.css", "/apie.js".
type Handler struct {
	files map[string]file
}

// New returns the page's handler.
func New() *Handler {
	h := &Handler{files: map[string]file{}}
	add := func(name string, body []byte, contentType string) {
		sum := sha256.Sum256(body)
		h.files[name] = file{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	for name, ct := range map[string]string{
		"index.html": "text/html; charset=utf-8",
		"app.js":     "text/javascript; charset=utf-8",
		"style.css":  "text/css; charset=utf-8",
		"icon.svg":   "image/svg+xml",
	} {
		b, err := files.ReadFile(name)
		if err != nil {
			panic("ui: embedded file " + name + " missing: " + err.Error()) // a build without the files
		}
		add("/"+name, b, ct)
	}
	h.files["/"] = h.files["/index.html"]
	delete(h.files, "/index.html")
	add("/apie.js", js.Module, "text/javascript; charset=utf-8")
	return h
}

// ServeHTTP answers GET and HEAD of the page's files (r.URL.Path is the
// path under /ui); 404 for any other name, 405 for other methods.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		jsonError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use GET, HEAD")
		return
	}
	f, ok := h.files[path.Clean("/"+r.URL.Path)]
	if !ok || (r.URL.Path != "/" && strings.HasSuffix(r.URL.Path, "/")) {
		jsonError(w, http.StatusNotFound, "no such file of the page")
		return
	}
	hd.Set("Content-Type", f.contentType)
	hd.Set("ETag", f.etag)
	hd.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"status": "error", "errorMessage": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
