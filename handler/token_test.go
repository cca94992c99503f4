package handler_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestTokenNeedsBasicAuth checks the answer to POST /auth/token sent with
// a bearer token: 403 (the credentials are valid, but not the kind this
// route takes), with a message saying what to send instead.
func TestTokenNeedsBasicAuth(t *testing.T) {
	fx := newFuzzFixture(t)
	res := fx.do(t, "POST", "/auth/token", nil, nil)
	if res.Code != http.StatusOK {
		t.Fatalf("POST /auth/token with basic auth: %d %s", res.Code, res.Body)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(res.Body.Bytes(), &tok); err != nil || tok.Token == "" {
		t.Fatalf("no token in %s", res.Body)
	}
	if res := fx.do(t, "GET", "/info", nil, map[string]string{"Authorization": "Bearer " + tok.Token}); res.Code != http.StatusOK {
		t.Fatalf("GET /info with the token: %d %s", res.Code, res.Body)
	}
	res = fx.do(t, "POST", "/auth/token", nil, map[string]string{"Authorization": "Bearer " + tok.Token})
	if res.Code != http.StatusForbidden || !strings.Contains(res.Body.String(), "user's password (basic auth), not a bearer token") {
		t.Errorf("POST /auth/token with a bearer token: got %d %s; want 403 saying to use basic auth", res.Code, res.Body)
	}
}
