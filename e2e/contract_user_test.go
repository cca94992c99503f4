package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// newPassword is what the /user/update row changes the password to.
const newPassword = "a new and longer passphrase"

func userRows() []contractRow {
	return []contractRow{
		{"GET /info: version, the caller, the config; no secrets, no environment", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK)
			r.wantContentType(t, "application/json")
			var v struct {
				Status  string            `json:"status"`
				Version string            `json:"version"`
				User    map[string]string `json:"user"`
				Config  map[string]any    `json:"config"`
			}
			r.json(t, &v)
			if v.Status != "ok" || v.Version != testVersion || v.User["email"] != c.tg.user || v.User["info"] != testInfo {
				t.Errorf("got %+v, want ok, version %s, user %s (%s)", v, testVersion, c.tg.user, testInfo)
			}
			for _, key := range []string{"eventlog", "contentstore", "limits"} {
				if _, ok := v.Config[key]; !ok {
					t.Errorf("config has no %q: %v", key, v.Config)
				}
			}
			for _, secret := range []string{"$2a$", "$2b$", "$2y$", "e2e-secret-must-not-leak", "APIE_E2E_SECRET",
				"GATEWAY_INTERFACE", "HTTP_AUTHORIZATION", "PATH=", c.tg.password} {
				if strings.Contains(string(r.body), secret) {
					t.Errorf("GET /info shows %q: %s", secret, r.body)
				}
			}
		}},
		{"POST /auth/token issues a bearer token that authenticates", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/auth/token", nil).want(t, http.StatusOK)
			r.wantHeader(t, "Cache-Control", "no-store")
			var v struct {
				Status    string `json:"status"`
				Token     string `json:"token"`
				TokenType string `json:"tokenType"`
				Expires   string `json:"expires"`
				ExpiresIn int64  `json:"expiresIn"`
			}
			r.json(t, &v)
			exp, err := time.Parse(time.RFC3339, v.Expires)
			if v.Status != "ok" || v.Token == "" || v.TokenType != "Bearer" || err != nil || v.ExpiresIn <= 0 || !exp.After(time.Now()) {
				t.Fatalf("got %+v, want ok, a token, Bearer, a future expiry", v)
			}
			c.token = v.Token
			var info struct {
				User map[string]string `json:"user"`
			}
			c.tg.do(t, http.MethodGet, "/info", nil, bearer(c.token)).want(t, http.StatusOK).json(t, &info)
			if info.User["email"] != c.tg.user {
				t.Errorf("bearer /info: got user %v, want %s", info.User, c.tg.user)
			}
			c.wantAppended(t, c.tg.do(t, http.MethodPost, "/events", []byte(event("via.token", "1")), bearer(c.token)),
				http.StatusCreated, false, 1)
			c.tg.do(t, http.MethodPost, "/auth/token", nil, bearer(c.token)).want(t, http.StatusForbidden)
			r = c.tg.do(t, http.MethodGet, "/info", nil, bearer(c.token+"x")).want(t, http.StatusUnauthorized)
			r.wantHeader(t, "WWW-Authenticate", `Basic realm="Apie"`)
			c.tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK) // clears failed logins
		}},
		{"POST /user/update refuses malformed input", func(t *testing.T, c *contract) {
			for _, body := range []string{`{"password":`, `{"pasword":"x"}`, `{}`, `{"password":""}`, "{\"info\":\"\xff\"}", `{"info":"two\nlines"}`} {
				if r := c.tg.do(t, http.MethodPost, "/user/update", []byte(body)); r.status != http.StatusBadRequest {
					t.Errorf("%q: got status %d, want 400", body, r.status)
				}
			}
			c.tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK)
		}},
		{"POST /user/update changes the password and info; the old password fails", func(t *testing.T, c *contract) {
			c.tg.do(t, http.MethodPost, "/user/update", []byte(`{"password":"`+newPassword+`","info":"Alice, updated"}`)).
				want(t, http.StatusOK)
			old := c.tg.password
			c.tg.password = newPassword
			r := c.tg.do(t, http.MethodGet, "/info", nil, basic(c.tg.user, old)).want(t, http.StatusUnauthorized)
			r.wantHeader(t, "WWW-Authenticate", `Basic realm="Apie"`)
			var info struct {
				User map[string]string `json:"user"`
			}
			c.tg.do(t, http.MethodGet, "/info", nil).want(t, http.StatusOK).json(t, &info)
			if info.User["info"] != "Alice, updated" {
				t.Errorf("got info %q, want %q", info.User["info"], "Alice, updated")
			}
		}},
	}
}
