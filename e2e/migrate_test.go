package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// apieConfig is an apie.json of only Apie's keys, as a migrated Apie
// install has it: no passwd.path, no auth section.
const apieConfig = `{
  "eventlog":     {"path": "events"},
  "contentstore": {"path": "content"}
}
`

// TestApieInstall puts apie-cgi into an Apie install: apie.json of only
// Apie's keys with Apie's users file, passwd, beside it. apie must find
// that passwd (not answer 401 to everyone) and make the token key's
// directory on the first token (not answer 500).
func TestApieInstall(t *testing.T) {
	requireApache(t)
	b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
	dir := filepath.Join(docRoot, "apie")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, b.CGI, filepath.Join(dir, "apie-cgi"), 0o755)
	copyFile(t, shippedHtaccess, filepath.Join(dir, ".htaccess"), 0o644)
	writeConfig(t, dir, apieConfig)
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(testUser+":"+string(hash)+":"+testInfo+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.chownTree(t, dir)
	a := startApache(t, apacheModes[0], o, docRoot)
	tg := newTarget("apie", a.URL(), "/apie/apie-cgi", testUser, testPassword, true)

	tg.do(t, "GET", "/info", nil).want(t, http.StatusOK)
	var tok struct {
		Token string `json:"token"`
	}
	tg.do(t, "POST", "/auth/token", nil).want(t, http.StatusOK).json(t, &tok)
	tg.do(t, "POST", "/events", []byte(`{"eventType":"migrated","body":{}}`), bearer(tok.Token)).want(t, http.StatusCreated)
	if _, err := os.Stat(filepath.Join(dir, "events")); err != nil {
		t.Errorf("the event log is not where Apie's eventlog.path says: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "apie-data", "token.key")); err != nil {
		t.Errorf("the token key is not at its default path: %v", err)
	}
	// The admin command line finds the same users file.
	out := mustRun(t, o, dir, "", nil, "./apie-cgi", "user", "list")
	if !strings.Contains(out, testUser) {
		t.Errorf("user list does not show Apie's user:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "apie-data", "passwd")); err == nil {
		t.Errorf("an apie-data/passwd was made beside Apie's passwd")
	}
	var info map[string]any
	tg.do(t, "GET", "/info", nil).want(t, http.StatusOK).json(t, &info)
	if b, _ := json.Marshal(info); strings.Contains(string(b), "passwd") {
		t.Errorf("GET /info shows the users file: %s", b)
	}
}
