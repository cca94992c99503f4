package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// testConfig is the apie.json the tests install: bcrypt cost 4 for speed,
// and small limits so the 413 rows need only small bodies. Paths are the
// defaults: apie-data/ beside the config.
const testConfig = `{
  "auth": {"bcryptCost": 4},
  "limits": {"eventBytes": 65536, "requestBytes": 1048576, "batchEvents": 100}
}
`

// The user every test creates first, with `user add` reading the password
// from standard input.
const (
	testUser     = "alice@example.org"
	testPassword = "correct horse battery staple"
	testInfo     = "Alice, e2e"
)

// writeConfig writes apie.json (content cfg) into dir with mode 0600.
func writeConfig(t testing.TB, dir, cfg string) string {
	t.Helper()
	p := filepath.Join(dir, "apie.json")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return p
}

// server is a running apie-serve.
type server struct {
	origin string // http://127.0.0.1:port
	config string // its apie.json
	p      *proc
}

// newServeDir makes a directory with the test apie.json and the test user
// in it, owned by o, and returns the config's path.
func newServeDir(t testing.TB, b bins, o owner) string {
	t.Helper()
	dir := tempDir(t)
	cfg := writeConfig(t, dir, testConfig)
	o.chownTree(t, dir)
	mustRun(t, o, dir, testPassword+"\n", nil, b.Serve, "-config", cfg, "user", "add", testUser, testInfo)
	return cfg
}

// startServe starts apie-serve as o with the config at cfg on a free
// port, waits until it listens, and stops it (SIGTERM) at the test's end.
func startServe(t testing.TB, b bins, o owner, cfg string, env ...string) *server {
	t.Helper()
	var last *proc
	for attempt := 0; attempt < 3; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
		cmd := exec.Command(b.Serve, "-addr", addr, "-config", cfg)
		cmd.Dir = filepath.Dir(cfg)
		cmd.Env = append(os.Environ(), env...)
		o.apply(cmd)
		p := startProc(t, "apie-serve", cmd, syscall.SIGTERM, 30*time.Second)
		if waitReady(p, "http://"+addr+"/", "Apie "+testVersion, 15*time.Second) {
			return &server{origin: "http://" + addr, config: cfg, p: p}
		}
		last = p
		p.stop(t, syscall.SIGTERM, 5*time.Second) // the port was taken meanwhile: try another
	}
	t.Fatalf("apie-serve did not start: %v\n%s", last.err, last.out.String())
	return nil
}
