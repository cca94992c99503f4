package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		header string
		ok     bool
		want   credentials
	}{
		{"basic", "Basic " + b64("a@x:pw"), true, credentials{scheme: schemeBasic, user: "a@x", password: "pw"}},
		{"basic upper", "BASIC " + b64("a@x:pw"), true, credentials{scheme: schemeBasic, user: "a@x", password: "pw"}},
		{"extra spaces", "Basic   " + b64("a@x:pw"), true, credentials{scheme: schemeBasic, user: "a@x", password: "pw"}},
		{"password with colons", "Basic " + b64("a:b:c"), true, credentials{scheme: schemeBasic, user: "a", password: "b:c"}},
		{"empty password", "Basic " + b64("a:"), true, credentials{scheme: schemeBasic, user: "a", password: ""}},
		{"bearer", "Bearer abc.def", true, credentials{scheme: schemeBearer, token: "abc.def"}},
		{"bearer trailing space", "Bearer abc.def ", true, credentials{scheme: schemeBearer, token: "abc.def"}},
		{"empty", "", false, credentials{}},
		{"scheme only", "Basic", false, credentials{}},
		{"scheme and space", "Basic ", false, credentials{}},
		{"bad base64", "Basic %%%", false, credentials{}},
		{"unpadded base64", "Basic " + strings.TrimRight(b64("a:bc"), "="), false, credentials{}},
		{"no colon", "Basic " + b64("abc"), false, credentials{}},
		{"empty user", "Basic " + b64(":pw"), false, credentials{}},
		{"bearer empty", "Bearer  ", false, credentials{}},
		{"bearer with space", "Bearer a b", false, credentials{}},
		{"unknown scheme", "Negotiate abc", false, credentials{}},
		{"too long", "Bearer " + strings.Repeat("a", maxHeaderLen), false, credentials{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseAuthorization(tt.header)
			if ok != tt.ok || got != tt.want {
				t.Errorf("got %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"", "Basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b")), "Bearer x.y",
		"basic Og==", "Basic !!", "Bearer ", "Digest a=b", "Basic " + base64.StdEncoding.EncodeToString([]byte("\x00:\xff")),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, ok := parseAuthorization(h)
		if !ok {
			if c != (credentials{}) {
				t.Fatalf("refused header gave credentials %+v", c)
			}
			return
		}
		switch c.scheme {
		case schemeBasic:
			if c.user == "" || strings.Contains(c.user, ":") || c.token != "" {
				t.Fatalf("bad basic credentials %+v", c)
			}
		case schemeBearer:
			if c.token == "" || c.user != "" || c.password != "" {
				t.Fatalf("bad bearer credentials %+v", c)
			}
			// Whatever the bytes, checking the token must not panic.
			parseToken(make([]byte, tokenKeySize), c.token)
		default:
			t.Fatalf("accepted with scheme %d", c.scheme)
		}
	})
}
