package auth

import (
	"net/http"
	"net/url"
	"strings"
)

// AccessTokenParam is the query parameter that carries a bearer token
// where a client cannot send Authorization (a browser's EventSource).
const AccessTokenParam = "access_token"

// takeAccessToken removes access_token from r's query and returns r
// without it (nothing after the middleware sees the token, so nothing
// logs it) and the Authorization value to check: the header if sent,
// else "Bearer <token>" on GET and HEAD. A token on another method is
// dropped: it is never accepted there.
func takeAccessToken(r *http.Request) (*http.Request, string) {
	authz := r.Header.Get("Authorization")
	if !strings.Contains(r.URL.RawQuery, AccessTokenParam) {
		return r, authz
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || !q.Has(AccessTokenParam) {
		return r, authz
	}
	tok := q.Get(AccessTokenParam)
	q.Del(AccessTokenParam)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	r2.RequestURI = r2.URL.RequestURI()
	if authz == "" && tok != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		authz = "Bearer " + tok
	}
	return r2, authz
}
