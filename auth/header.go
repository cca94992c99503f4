package auth

import (
	"encoding/base64"
	"strings"
)

// maxHeaderLen bounds the Authorization value looked at; longer ones are
// refused before any decoding.
const maxHeaderLen = 8 << 10

// scheme is the kind of credentials an Authorization header carries.
type scheme int

const (
	schemeNone   scheme = iota // missing or malformed
	schemeBasic                // user and password
	schemeBearer               // a token
)

// credentials is a parsed Authorization header value.
type credentials struct {
	scheme   scheme
	user     string
	password string
	token    string
}

// parseAuthorization parses an Authorization header value: "Basic " and the
// standard base64 of "user:password", or "Bearer " and a token. Scheme names
// are case-insensitive (RFC 9110). ok is false for anything else, including
// an empty value, bad base64, no colon, or an empty user or token.
func parseAuthorization(v string) (c credentials, ok bool) {
	if len(v) > maxHeaderLen {
		return credentials{}, false
	}
	name, rest, found := strings.Cut(v, " ")
	if !found {
		return credentials{}, false
	}
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.EqualFold(name, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return credentials{}, false
		}
		user, password, found := strings.Cut(string(raw), ":")
		if !found || user == "" {
			return credentials{}, false
		}
		return credentials{scheme: schemeBasic, user: user, password: password}, true
	case strings.EqualFold(name, "Bearer"):
		token := strings.TrimRight(rest, " ")
		if token == "" || strings.ContainsAny(token, " \t") {
			return credentials{}, false
		}
		return credentials{scheme: schemeBearer, token: token}, true
	}
	return credentials{}, false
}
