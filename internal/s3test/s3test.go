// Package s3test starts a private MinIO server for tests: the minio binary
// built from the Go module proxy (go install github.com/minio/minio@latest;
// .ci/run does it), on a free loopback port, with its data in a temporary
// directory and root credentials of its own. MinIO is only run as a
// separate program, never linked into apie.
//
// Where the minio binary is not found the test is skipped, unless
// APIE_REQUIRE_S3=1 (CI sets it): then it fails.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"apie/internal/testutil"
)

// RequireEnv names the environment variable that turns a missing MinIO
// into a test failure.
const RequireEnv = "APIE_REQUIRE_S3"

// startTimeout bounds how long MinIO may take to answer its health check:
// generous, for a loaded machine.
const startTimeout = 2 * time.Minute

// Server is a running private MinIO.
type Server struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Proc      *testutil.Proc
}

// Binary returns the minio binary's path: $APIE_MINIO if set, else minio
// on PATH, else $(go env GOPATH)/bin/minio.
func Binary() (string, error) {
	if p := os.Getenv("APIE_MINIO"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, d := range filepath.SplitList(gopath) {
		p := filepath.Join(d, "bin", "minio")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the minio binary is not found (go install github.com/minio/minio@latest)")
}

// Start starts a private MinIO for t and stops it when t ends. A machine
// without MinIO skips t (fails it under APIE_REQUIRE_S3=1).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		testutil.SkipOrFail(t, RequireEnv, err.Error())
	}
	dir := t.TempDir()
	s := &Server{
		Endpoint:  testutil.FreeAddr(t),
		AccessKey: "apie-test-root",
		SecretKey: "apie-test-secret-key",
	}
	console := testutil.FreeAddr(t)
	cmd := exec.Command(bin, "server", "--quiet", "--address", s.Endpoint, "--console-address", console,
		filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"HOME="+dir, // MINIO keeps its client config under $HOME
	)
	s.Proc = testutil.StartProc(t, "minio", cmd, syscall.SIGTERM, 30*time.Second)
	if err := s.waitReady(); err != nil {
		t.Fatalf("s3test: %v\n%s", err, s.Proc.Output.String())
	}
	return s
}

// waitReady polls MinIO's liveness and readiness checks.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		if s.Proc.Exited() {
			return fmt.Errorf("minio exited: %v", s.Proc.Err())
		}
		last = s.get(ctx, client, "/minio/health/ready")
		if last == nil {
			// The health check passes before the object layer is up
			// ("Server not initialized yet"): wait for a real S3 call.
			last = s.listBuckets(ctx)
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("minio was not ready within %s: %v", startTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) get(ctx context.Context, client *http.Client, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Endpoint+path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

// listBuckets makes one authenticated S3 call.
func (s *Server) listBuckets(ctx context.Context) error {
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = c.ListBuckets(ctx)
	return err
}

// MakeBucket creates a bucket with the root credentials.
func (s *Server) MakeBucket(ctx context.Context, name string) error {
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
	if err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("s3test: make bucket %s: %w", name, err)
	}
	return nil
}
