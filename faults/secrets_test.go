package faults

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// secretsOf returns the strings that must never appear in a log or a
// response: passwords, the Authorization values that carry them, tokens.
func secretsOf(pairs [][2]string, extra ...string) []string {
	var out []string
	for _, p := range pairs {
		out = append(out, p[1], basicAuth(p[0], p[1]), strings.TrimPrefix(basicAuth(p[0], p[1]), "Basic "),
			base64.StdEncoding.EncodeToString([]byte(p[0]+":"+p[1])))
	}
	return append(out, extra...)
}

// mustNotContain fails if text holds any of secrets.
func mustNotContain(t testing.TB, where, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Fatalf("%s holds a secret %q", where, s)
		}
	}
}

// TestCredentialsNotLogged runs apie-serve and apie-cgi with right, wrong
// and unknown credentials, a bearer token and a password change, and reads
// their logs (stderr): no password, Authorization value, base64 of one, or
// token appears.
func TestCredentialsNotLogged(t *testing.T) {
	r := newRow(t, rowCredsLog, "apie-serve and apie-cgi: right, wrong and unknown-user basic auth, a 404 and a 405 with credentials, a bearer token, a password change; stderr captured")
	s := newStore(t, t.TempDir(), storeOptions{})
	const wrongPW, newPW = "wrong-Marker-6e1f", "new-Marker-93ac"
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	c.must(t, "GET", "/info", nil, nil)
	c.must(t, "GET", "/no/such/route", nil, nil)
	c.must(t, "DELETE", "/events", nil, nil)
	mustAppend(t, c, newLedger(), appendBody(1, false, 10))
	srv.clientFrom("127.0.0.30", alice, wrongPW).must(t, "GET", "/info", nil, nil)
	srv.clientFrom("127.0.0.31", "mallory@example.com", wrongPW).must(t, "GET", "/info", nil, nil)
	res := c.must(t, "POST", "/auth/token", nil, nil)
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(res.body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("POST /auth/token: status %d %s", res.status, res.body)
	}
	bearer := &client{base: c.base, hc: c.hc}
	if res := bearer.must(t, "GET", "/info", nil, map[string]string{"Authorization": "Bearer " + tok.Token}); res.status != http.StatusOK {
		t.Fatalf("GET /info with the token: status %d", res.status)
	}
	bearer.must(t, "GET", "/info", nil, map[string]string{"Authorization": "Bearer " + tok.Token + "x"})
	res = c.must(t, "POST", "/user/update", []byte(`{"password":"`+newPW+`"}`), nil)
	if res.status != http.StatusOK {
		t.Fatalf("POST /user/update: status %d %s", res.status, res.body)
	}
	srv.client(alice, newPW).must(t, "GET", "/info", nil, nil)
	srv.Shutdown(t)
	logs := srv.Output.String()
	if !strings.Contains(logs, "status=401") || !strings.Contains(logs, "status=200") {
		t.Fatalf("the server log has no request lines to check:\n%s", logs)
	}
	secrets := secretsOf([][2]string{{alice, alicePW}, {alice, wrongPW}, {"mallory@example.com", wrongPW}, {alice, newPW}}, tok.Token, newPW)
	mustNotContain(t, "apie-serve's log", logs, secrets)
	n := 10
	for _, cred := range [][2]string{{alice, newPW}, {alice, wrongPW}, {"mallory@example.com", wrongPW}} {
		for _, rt := range []string{"/info", "/no/such/route"} {
			_, stderr := s.runCGI(t, cgiRequest{method: "GET", pathInfo: rt, header: map[string]string{"Authorization": basicAuth(cred[0], cred[1])},
				env: []string{"REDIRECT_HTTP_AUTHORIZATION=" + basicAuth(cred[0], cred[1])}})
			mustNotContain(t, "apie-cgi's log", stderr, secrets)
			n++
		}
	}
	out, _ := s.admin(t, "another-Marker-55\n", "user", "add", "carol@example.com")
	mustNotContain(t, "apie-serve user add's output", out, []string{"another-Marker-55"})
	r.pass(n+1, "no password, Authorization value, base64 of user:password or bearer token in apie-serve's log (which does log each request and its status), in apie-cgi's, or in `user add` output")
}

// TestSecretsInResponses sets a marker in the environment of apie-serve
// and of apie-cgi and makes requests of every kind, failing ones too: no
// response (body or header) holds the marker, a password, a bcrypt hash,
// the token key, or another environment variable.
func TestSecretsInResponses(t *testing.T) {
	r := newRow(t, rowSecrets, "marker env var set for apie-serve and apie-cgi; GET /, /info, /events, 404, 405, 400, 401, 413, verify routes, token; every body and header searched")
	const marker = "Env-Marker-7d3c9b"
	s := newStore(t, t.TempDir(), storeOptions{BlobBytes: 1 << 10})
	srv := s.start(t, serverOptions{env: []string{"APIE_SECRET_MARKER=" + marker}})
	c := srv.client(alice, alicePW)
	requests := []struct {
		method, path string
		body         []byte
		header       map[string]string
	}{
		{"GET", "/", nil, nil}, {"GET", "/info", nil, nil}, {"HEAD", "/info", nil, nil}, {"GET", "/events", nil, nil},
		{"POST", "/events", appendBody(1, false, 10), nil}, {"POST", "/events", []byte(`{"eventType":`), nil},
		{"POST", "/events", []byte(`{"eventType":"x","body":{"a":1,"a":2}}`), nil}, {"GET", "/nowhere", nil, nil},
		{"DELETE", "/info", nil, nil}, {"GET", "/events/zz", nil, nil}, {"PUT", "/storage/x", make([]byte, 2<<10), nil},
		{"POST", "/events/verify", nil, nil}, {"POST", "/storage/verify", nil, nil}, {"POST", "/auth/token", nil, nil},
		{"POST", "/user/update", []byte(`{"nope":1}`), nil}, {"GET", "/events?bogus=1", nil, nil},
		{"POST", "/events", appendBody(1, false, 10), map[string]string{"If-Match": `"` + strings.Repeat("0", 64) + `"`}},
	}
	var answers []string
	keep := func(res response) {
		answers = append(answers, fmt.Sprint(res.status, res.header, string(res.body)))
	}
	for _, rq := range requests {
		keep(c.must(t, rq.method, rq.path, rq.body, rq.header))
		keep(srv.clientFrom("127.0.0.40", alice, "wrong").must(t, rq.method, rq.path, rq.body, rq.header))
	}
	srv.Shutdown(t)
	for _, rq := range requests {
		res, _ := s.runCGI(t, cgiAs(cgiRequest{method: rq.method, pathInfo: rq.path, body: rq.body, header: rq.header,
			env: []string{"APIE_SECRET_MARKER=" + marker}}))
		keep(res)
	}
	key, err := os.ReadFile(s.path("token.key"))
	if err != nil {
		t.Fatalf("the token key was not made: %v", err)
	}
	passwd := string(readFile(t, s.path("passwd")))
	hash := strings.Split(strings.Split(passwd, "\n")[0], ":")[1]
	secrets := append(secretsOf([][2]string{{alice, alicePW}}), marker, "APIE_SECRET_MARKER", "SERVER_SOFTWARE", "faults-test",
		hash, "$2a$", "$2b$", "$2y$", string(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
		fmt.Sprintf("%x", key), "GATEWAY_INTERFACE", "PATH=")
	for i, a := range answers {
		mustNotContain(t, fmt.Sprintf("answer %d", i), a, secrets)
	}
	r.pass(len(answers), "no marker, environment variable, password, bcrypt hash or token key in any body or header, for apie-serve (right and wrong credentials) and apie-cgi")
}
