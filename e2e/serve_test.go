package e2e

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"apie/internal/testutil"
)

// testConfig is the apie.json the tests install: bcrypt cost 4 for speed,
// and small limits so the 413 rows need only small bodies. Paths are the
// defaults: apie-data/ beside the config.
const testConfig = `{
  "auth": {"bcryptCost": 4},
  "admins": ["alice@example.org"],
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
	*testutil.Serve
	origin string // http://127.0.0.1:port
	config string // its apie.json
}

// newServeDir makes a directory with the test apie.json and the test user
// in it, owned by o, and returns the config's path.
func newServeDir(t testing.TB, b testutil.Binaries, o owner) string {
	t.Helper()
	dir := tempDir(t)
	cfg := writeConfig(t, dir, testConfig)
	o.chownTree(t, dir)
	mustRun(t, o, dir, testPassword+"\n", nil, b.Serve, "-config", cfg, "user", "add", testUser, testInfo)
	return cfg
}

// startServe starts apie-serve as o with the config at cfg on a free
// port, waits until it listens and answers GET / with this run's version
// (so the answer is from this process), and stops it (SIGTERM) at the
// test's end.
func startServe(t testing.TB, b testutil.Binaries, o owner, cfg string, env ...string) *server {
	t.Helper()
	s := testutil.StartServe(t, testutil.ServeOptions{
		Binary: b.Serve, Config: cfg, Dir: filepath.Dir(cfg), Env: env, Cred: o.cred,
		StopSignal: syscall.SIGTERM,
	})
	if !s.WaitHTTP(context.Background(), s.URL+"/", "Apie "+testVersion, 15*time.Second) {
		t.Fatalf("apie-serve at %s does not answer GET / with Apie %s:\n%s", s.URL, testVersion, s.Output)
	}
	return &server{Serve: s, origin: s.URL, config: cfg}
}
