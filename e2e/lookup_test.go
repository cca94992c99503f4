package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cgiReply is a CGI program's answer, parsed as a web server would.
type cgiReply struct {
	status int
	header textproto.MIMEHeader
	body   []byte
}

// runCGI runs the apie-cgi at exe as a web server would for GET path,
// in dir, with extra environment, and parses its answer.
func runCGI(t *testing.T, exe, dir, path string, extra ...string) cgiReply {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"GATEWAY_INTERFACE=CGI/1.1", "SERVER_PROTOCOL=HTTP/1.1", "SERVER_SOFTWARE=e2e",
		"SERVER_NAME=127.0.0.1", "SERVER_PORT=80", "REMOTE_ADDR=127.0.0.1",
		"REQUEST_METHOD=GET", "SCRIPT_NAME=/apie-cgi", "PATH_INFO=" + path, "QUERY_STRING=",
		"HTTP_AUTHORIZATION=Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword)),
		"PATH=/usr/bin:/bin",
	}, extra...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("apie-cgi as CGI: %v\n%s", err, stderr.String())
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(out)))
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatalf("apie-cgi's answer %q: bad header: %v", out, err)
	}
	code, _, _ := strings.Cut(hdr.Get("Status"), " ")
	status, err := strconv.Atoi(code)
	if err != nil {
		t.Fatalf("apie-cgi's answer %q: bad Status line: %v", out, err)
	}
	body, _ := io.ReadAll(tp.R)
	return cgiReply{status: status, header: hdr, body: body}
}

// infoSource returns config.source from GET /info run as CGI.
func infoSource(t *testing.T, exe, dir string, extra ...string) string {
	t.Helper()
	r := runCGI(t, exe, dir, "/info", extra...)
	if r.status != http.StatusOK {
		t.Fatalf("GET /info: got status %d, want 200; body %q", r.status, r.body)
	}
	var v struct {
		Config struct {
			Source string `json:"source"`
		} `json:"config"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("GET /info: %v in %q", err, r.body)
	}
	return v.Config.Source
}

// TestConfigLookup checks where apie-cgi, run as CGI, finds its config:
// $APIE_CONFIG, else apie.json beside the executable, else in the working
// directory, else the defaults with apie-data/ beside the executable.
func TestConfigLookup(t *testing.T) {
	b := binaries(t)
	root := t.TempDir()
	dirs := map[string]string{}
	for _, name := range []string{"env", "beside", "cwd", "bare", "empty"} {
		dirs[name] = filepath.Join(root, name)
		if err := os.MkdirAll(dirs[name], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o := owner{} // run as the test's own user: no web server involved
	withExe := []string{"beside", "bare"}
	for _, name := range withExe {
		copyFile(t, b.CGI, filepath.Join(dirs[name], "apie-cgi"), 0o755)
	}
	cfgs := map[string]string{}
	for _, name := range []string{"env", "beside", "cwd"} {
		cfgs[name] = writeConfig(t, dirs[name], testConfig)
		mustRun(t, o, dirs[name], testPassword+"\n", []string{"APIE_CONFIG=" + cfgs[name]}, b.CGI, "user", "add", testUser)
	}
	// No config anywhere: `user add` from the bare directory uses the
	// defaults based beside the executable.
	mustRun(t, o, dirs["empty"], testPassword+"\n", nil, filepath.Join(dirs["bare"], "apie-cgi"), "user", "add", testUser)
	if _, err := os.Stat(filepath.Join(dirs["bare"], "apie-data", "passwd")); err != nil {
		t.Fatalf("with no config, user add should write apie-data/passwd beside the executable: %v", err)
	}

	cases := []struct {
		name     string
		exe, cwd string
		env      []string
		want     string
	}{
		{"$APIE_CONFIG first", "beside", "cwd", []string{"APIE_CONFIG=" + cfgs["env"]}, cfgs["env"]},
		{"then apie.json beside the executable", "beside", "cwd", nil, cfgs["beside"]},
		{"then apie.json in the working directory", "bare", "cwd", nil, cfgs["cwd"]},
		{"else the defaults", "bare", "empty", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := infoSource(t, filepath.Join(dirs[tc.exe], "apie-cgi"), dirs[tc.cwd], tc.env...)
			if got != tc.want {
				t.Errorf("got config %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("a missing $APIE_CONFIG is an error, not a fallback", func(t *testing.T) {
		r := runCGI(t, filepath.Join(dirs["beside"], "apie-cgi"), dirs["cwd"], "/info", "APIE_CONFIG="+filepath.Join(root, "missing.json"))
		if r.status != http.StatusInternalServerError {
			t.Fatalf("got status %d, want 500; body %q", r.status, r.body)
		}
		if mt := r.header.Get("Content-Type"); !strings.HasPrefix(mt, "application/json") {
			t.Errorf("got Content-Type %q, want JSON", mt)
		}
		if strings.Contains(string(r.body), "missing.json") {
			t.Errorf("the client sees the config's path: %s", r.body)
		}
	})
}
