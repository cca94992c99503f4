package handler

import (
	"net/http"
	"strings"

	"apie/ui"
)

// page serves the web page (package ui) at GET /ui/ and GET /ui/<file>,
// ahead of auth: its files hold no data, and every call it makes to the
// API carries the user's token. GET /ui redirects to /ui/ (relatively,
// so under CGI it stays below the script's path). Everything else goes
// on to next.
func (h *Handler) page(next http.Handler) http.Handler {
	page := ui.New()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p != "/ui" && !strings.HasPrefix(p, "/ui/") {
			next.ServeHTTP(w, r)
			return
		}
		if p == "/ui" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			w.Header().Set("Location", "ui/")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(p, "/ui")
		if r2.URL.Path == "" {
			r2.URL.Path = "/"
		}
		r2.URL.RawPath = ""
		page.ServeHTTP(w, r2)
	})
}
