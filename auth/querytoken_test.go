package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTakeAccessToken(t *testing.T) {
	cases := []struct {
		name, method, target, header string
		wantAuthz, wantQuery         string
	}{
		{"GET takes the token", "GET", "/events?follow=true&access_token=tok", "", "Bearer tok", "follow=true"},
		{"HEAD takes the token", "HEAD", "/events?access_token=tok", "", "Bearer tok", ""},
		{"POST never does", "POST", "/events?access_token=tok", "", "", ""},
		{"the header wins", "GET", "/events?access_token=tok", "Basic abc", "Basic abc", ""},
		{"an empty token is none", "GET", "/events?access_token=", "", "", ""},
		{"no token, nothing changes", "GET", "/events?after=x", "", "", "after=x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			r2, authz := takeAccessToken(r)
			if authz != tc.wantAuthz {
				t.Errorf("authorization %q, want %q", authz, tc.wantAuthz)
			}
			if r2.URL.RawQuery != tc.wantQuery {
				t.Errorf("query %q, want %q", r2.URL.RawQuery, tc.wantQuery)
			}
			if strings.Contains(r2.RequestURI, "tok") || strings.Contains(r2.URL.String(), "tok") {
				t.Errorf("the token is still in the request: %q %q", r2.RequestURI, r2.URL)
			}
		})
	}
}
