package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCGITokenNotLogged runs apie-cgi as a web server would with a
// bearer token in access_token=, on a store that cannot open (so apie-cgi
// logs the failure), and checks its log (standard error, which the web
// server keeps) never holds the token.
func TestCGITokenNotLogged(t *testing.T) {
	b := binaries(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "not-a-dir"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, `{"auth": {"bcryptCost": 4}, "eventlog": {"path": "not-a-dir"}}`)
	mustRun(t, owner{}, dir, testPassword+"\n", []string{"APIE_CONFIG=" + cfg}, b.CGI, "user", "add", testUser)
	run := func(method, target, authz string) (string, string) {
		t.Helper()
		path, query, _ := strings.Cut(target, "?")
		cmd := exec.Command(b.CGI)
		cmd.Dir = dir
		cmd.Env = []string{
			"APIE_CONFIG=" + cfg, "GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "SERVER_SOFTWARE=e2e",
			"SERVER_NAME=127.0.0.1", "SERVER_PORT=80", "REMOTE_ADDR=127.0.0.1", "REQUEST_METHOD=" + method,
			"SCRIPT_NAME=/apie-cgi", "PATH_INFO=/" + path, "QUERY_STRING=" + query,
			"CONTENT_LENGTH=0", "HTTP_AUTHORIZATION=" + authz, "PATH=/usr/bin:/bin",
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("apie-cgi: %v\n%s", err, stderr.String())
		}
		return string(out), stderr.String()
	}
	basicAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
	out, _ := run("POST", "auth/token", basicAuth)
	var v struct {
		Token string `json:"token"`
	}
	_, body, _ := strings.Cut(out, "\r\n\r\n")
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.Token == "" {
		t.Fatalf("POST /auth/token: %q", out)
	}
	out, log := run("GET", "events?follow=true&access_token="+v.Token, "")
	if !strings.HasPrefix(out, "Status: 500") || !strings.Contains(log, "path=/events") {
		t.Fatalf("want a 500 with a log line naming the path; got %q, log %q", out, log)
	}
	if strings.Contains(log, v.Token) || strings.Contains(log, "access_token") {
		t.Errorf("the token is in apie-cgi's log:\n%s", log)
	}
}
