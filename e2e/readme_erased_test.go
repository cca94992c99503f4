package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"apie/internal/testutil"
)

// TestREADMEVerifiersErasedLog runs the README's Python and Go verifiers
// over a real log with salted and erased events (read through GET /events
// and from the log file, whose erased record is padded with spaces) and
// over a log written before salts: each passes and reports the erased
// count. Both refuse an erasure imitated by hand (a body set to null and
// its bodySalt removed, no apie.erased naming it), an erased event whose
// tombstone is cut away, and a salted body changed.
func TestREADMEVerifiersErasedLog(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		testutil.SkipOrFail(t, "APIE_REQUIRE_PYTHON", "python3 is not installed")
	}
	pyCode := readmeBlock(t, "python")
	goCode := readmeBlock(t, "go")

	b := binaries(t)
	o := webOwner(t)
	cfg := newServeDir(t, b, o)
	srv := startServe(t, b, o, cfg)
	tg := newTarget("apie-serve", srv.origin, "", testUser, testPassword, false)

	var hashes []string
	for _, body := range []string{`{"email":"carol@example.com"}`, `"x"`, `{"email":"dave@example.com"}`, `[1.0,1e21]`} {
		var ev stored
		tg.do(t, http.MethodPost, "/events", []byte(event("person", body))).want(t, http.StatusCreated).json(t, &ev)
		hashes = append(hashes, ev.Hash)
	}
	for _, h := range []string{hashes[0], hashes[2]} {
		tg.do(t, http.MethodPost, "/events/"+h+"/erase", []byte(`{"reason":"asked"}`)).want(t, http.StatusOK)
	}
	tg.do(t, http.MethodPost, "/events", []byte(event("after", `{"n":1}`))).want(t, http.StatusCreated)
	head := tg.do(t, http.MethodHead, "/events", nil).want(t, http.StatusOK).header.Get("X-Apie-Hash")

	ndjson := tg.do(t, http.MethodGet, "/events", nil, header("Accept", "application/x-ndjson")).want(t, http.StatusOK).body
	logFile, err := os.ReadFile(filepath.Join(filepath.Dir(cfg), "apie-data", "events", "log"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logFile, []byte("   \n")) {
		t.Fatal("the log file has no padded (erased) record")
	}
	unsalted, err := os.ReadFile(filepath.Join("..", "eventlog", "testdata", "eventlog-v1", "log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(ndjson, []byte("\n"))

	// imitated: event 2's body set to null and its bodySalt removed by
	// hand, as an erase would, but no apie.erased names it.
	var ev2 map[string]json.RawMessage
	if err := json.Unmarshal(lines[1], &ev2); err != nil {
		t.Fatal(err)
	}
	ev2["body"] = json.RawMessage("null")
	delete(ev2, "bodySalt")
	fake, _ := json.Marshal(ev2)
	imitated := bytes.Join([][]byte{lines[0], append(fake, '\n'), bytes.Join(lines[2:], nil)}, nil)
	// cut: the log up to the first erase's tombstone, without it.
	cut := bytes.Join(lines[:4], nil)
	// changed: a salted body altered.
	changed := bytes.Replace(ndjson, []byte(`[1,1e+21]`), []byte(`[2,1e+21]`), 1)
	if bytes.Equal(changed, ndjson) {
		t.Fatal("found no body to change")
	}

	dir := t.TempDir()
	pyFile := filepath.Join(dir, "verify.py")
	goFile := filepath.Join(dir, "verify", "main.go")
	writeFile(t, pyFile, pyCode)
	writeFile(t, goFile, goProgram(t, goCode))
	for _, tc := range []struct {
		name string
		log  []byte
		want string // the output when it passes; "" must fail with fail
		fail string
	}{
		{"GET /events with erased events", ndjson, "ok, head " + head + " erased 2", ""},
		{"the log file, erased records padded", logFile, "ok, head " + head + " erased 2", ""},
		{"a log written before salts", unsalted, "", ""},
		{"an erasure imitated without a tombstone", imitated, "", "no apie.erased names it"},
		{"an erased event whose tombstone is cut away", cut, "", "no apie.erased names it"},
		{"a salted body changed", changed, "", "bodyHash wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, filepath.Join(dir, "events.ndjson"), string(tc.log))
			py := exec.Command(python, pyFile)
			py.Dir = dir
			py.Env = append(os.Environ(), "PYTHONPATH="+mustAbs(t, filepath.Join("testdata", "python")))
			pyOut, pyErr := py.CombinedOutput()
			gorun := exec.Command(goTool(t), "run", goFile)
			gorun.Stdin = bytes.NewReader(tc.log)
			goOut, goErr := gorun.CombinedOutput()
			for _, v := range []struct {
				name string
				out  []byte
				err  error
			}{{"Python", pyOut, pyErr}, {"Go", goOut, goErr}} {
				got := strings.TrimSpace(string(v.out))
				switch {
				case tc.fail != "":
					if v.err == nil || !strings.Contains(got, tc.fail) {
						t.Errorf("README's %s verifier: %v, output %q; want a failure saying %q", v.name, v.err, got, tc.fail)
					}
				case tc.want != "":
					if v.err != nil || got != tc.want {
						t.Errorf("README's %s verifier: %v, output %q; want %q", v.name, v.err, got, tc.want)
					}
				default:
					if v.err != nil || !strings.HasPrefix(got, "ok, head ") || !strings.HasSuffix(got, " erased 0") {
						t.Errorf("README's %s verifier: %v, output %q; want ok with 0 erased", v.name, v.err, got)
					}
				}
			}
		})
	}
}
