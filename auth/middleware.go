package auth

import (
	"net"
	"net/http"
)

// Middleware authenticates every request for which public reports false
// (which requests are public is the caller's to say: auth knows no
// routes; a public request goes on as it is, with no user): it checks the Authorization header with c, taking the client address for
// throttling from r.RemoteAddr's host part, and on success passes the
// request on with the user in its context (see FromContext). On failure it
// calls fail(w, r, err) and does not call the next handler; err is
// ErrUnauthorized (answer 401 with WWW-Authenticate), ErrThrottled (429),
// or a fault (500). A bearer token may also come as access_token= on a
// GET or HEAD (see takeAccessToken); it is taken out of the URL first.
func Middleware(c *Checker, public func(*http.Request) bool, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if public(r) {
				next.ServeHTTP(w, r)
				return
			}
			r, authz := takeAccessToken(r)
			u, err := c.Check(r.Context(), authz, clientHost(r.RemoteAddr))
			if err != nil {
				fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
		})
	}
}

// clientHost returns the host part of a "host:port" remote address, or the
// address itself if it has no port.
func clientHost(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
