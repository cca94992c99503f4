package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"apie/internal/testutil"
)

// The deepest body the test config stores (the default limit).
const maxBodyDepth = 128

// TestREADMEVerifiersReadMaximalEvents runs the README's own verifiers,
// Python and Go, taken from README.md as they are printed, over a log
// that holds the deepest bodies apie stores: arrays and objects nested
// exactly limits.bodyDepth (128) deep. Both must read the log and agree
// with its head; both must refuse it once one deep body is changed. A
// body one level deeper is refused with a 400 naming the limit.
//
// Python's json cannot read an event nested about 1,000 deep, Go's
// encoding/json one 10,000 deep: the limit is what keeps every log apie
// writes readable by them.
func TestREADMEVerifiersReadMaximalEvents(t *testing.T) {
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

	for _, body := range []string{
		`{"title":"milk"}`,
		strings.Repeat("[", maxBodyDepth) + strings.Repeat("]", maxBodyDepth),
		deepBody(maxBodyDepth),
	} {
		tg.do(t, http.MethodPost, "/events", []byte(event("deep", body))).want(t, http.StatusCreated)
	}
	batch := "[" + event("deep", deepBody(maxBodyDepth)) + "," + event("deep", `[`+deepBody(maxBodyDepth-1)+`,"é\u2028"]`) + "]"
	tg.do(t, http.MethodPost, "/events", []byte(batch)).want(t, http.StatusCreated)
	const stored = 5

	for _, body := range []string{
		strings.Repeat("[", maxBodyDepth+1) + strings.Repeat("]", maxBodyDepth+1),
		deepBody(maxBodyDepth + 1),
	} {
		r := tg.do(t, http.MethodPost, "/events", []byte(event("too.deep", body))).want(t, http.StatusBadRequest)
		if want := "nested deeper than the limit of " + strconv.Itoa(maxBodyDepth) + " levels"; !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("a body %d deep: got %s, want a message saying %q", maxBodyDepth+1, r.body, want)
		}
	}
	head := tg.do(t, http.MethodHead, "/events", nil).want(t, http.StatusOK)
	if got := head.header.Get("X-Apie-Count"); got != strconv.Itoa(stored) {
		t.Fatalf("X-Apie-Count %s after the refused bodies, want %d", got, stored)
	}
	want := head.header.Get("X-Apie-Hash")

	ndjson := tg.do(t, http.MethodGet, "/events", nil, header("Accept", "application/x-ndjson")).want(t, http.StatusOK).body
	logFile, err := os.ReadFile(filepath.Join(filepath.Dir(cfg), "apie-data", "events", "log"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pyFile := filepath.Join(dir, "verify.py")
	goFile := filepath.Join(dir, "verify", "main.go")
	writeFile(t, pyFile, pyCode)
	writeFile(t, goFile, goProgram(t, goCode))

	tampered := bytes.Replace(ndjson, []byte(`{}`), []byte(`{"x":1}`), 1)
	if bytes.Equal(tampered, ndjson) {
		t.Fatal("found no innermost object to tamper with")
	}
	for _, tc := range []struct {
		name string
		log  []byte
		ok   bool
	}{
		{"GET /events as NDJSON", ndjson, true},
		{"the log file", logFile, true},
		{"a deep body changed", tampered, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, filepath.Join(dir, "events.ndjson"), string(tc.log))
			py := exec.Command(python, pyFile)
			py.Dir = dir
			py.Env = append(os.Environ(), "PYTHONPATH="+mustAbs(t, filepath.Join("testdata", "python")))
			out, err := py.CombinedOutput()
			if tc.ok && (err != nil || strings.TrimSpace(string(out)) != "ok, head "+want+" erased 0") {
				t.Errorf("README's Python verifier: %v, output %q; want \"ok, head %s erased 0\"", err, out, want)
			}
			if !tc.ok && err == nil {
				t.Errorf("README's Python verifier accepted it: %q", out)
			}

			gorun := exec.Command(goTool(t), "run", goFile)
			gorun.Stdin = bytes.NewReader(tc.log)
			out, err = gorun.CombinedOutput() // run from here: the module gives it jcs
			if tc.ok && err != nil {
				t.Errorf("README's Go verifier: %v: %s", err, out)
			}
			if !tc.ok && (err == nil || !bytes.Contains(out, []byte("bodyHash wrong"))) {
				t.Errorf("README's Go verifier: %v: %s; want it to fail on bodyHash", err, out)
			}
		})
	}
}

// deepBody returns a body nested depth levels deep (depth >= 1): objects
// and arrays in turn, holding numbers whose canonical spelling differs
// (1.0, 1e21), around an innermost {}.
func deepBody(depth int) string {
	body := "{}"
	for i := 1; i < depth; i++ {
		if i%2 == 0 {
			body = `{"n": 1.0, "a": ` + body + `}`
		} else {
			body = `[1e21, ` + body + `]`
		}
	}
	return body
}

// readmeBlock returns the first fenced code block of language lang in
// README.md's section "The hash rule", so the test runs what the README
// prints.
func readmeBlock(t *testing.T, lang string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## The hash rule")
	if !ok {
		t.Fatal(`README.md has no section "## The hash rule"`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	m := regexp.MustCompile("(?s)\n```" + lang + "\n(.*?)\n```\n").FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("README.md's hash rule section has no ```%s block", lang)
	}
	return m[1]
}

// goProgram makes the README's Go verifier, which is the body of a main
// function, a program: package main, the imports it uses, func main.
func goProgram(t *testing.T, code string) string {
	t.Helper()
	if strings.HasPrefix(code, "package ") {
		return code
	}
	var imports []string
	for _, imp := range []string{"bytes", "crypto/sha256", "encoding/hex", "encoding/json", "fmt", "io", "log", "os", "strings", "github.com/gowebpki/jcs"} {
		if strings.Contains(code, filepath.Base(imp)+".") {
			imports = append(imports, strconv.Quote(imp))
		}
	}
	return "package main\n\nimport (\n\t" + strings.Join(imports, "\n\t") + "\n)\n\nfunc main() {\n" + code + "\n}\n"
}

// goTool is the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	const fallback = "/usr/local/go/bin/go"
	if _, err := os.Stat(fallback); err != nil {
		t.Fatalf("the go command is not in PATH nor at %s", fallback)
	}
	return fallback
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
