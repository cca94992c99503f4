package handler

import "net/http"

// isPublic is the route policy auth.Middleware applies: it reports whether
// r is one of the requests anyone may make, without credentials. Today
// that is GET or HEAD of exactly "/"; every other route needs a user.
func isPublic(r *http.Request) bool {
	return r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead)
}
