// Package pgtest starts a private PostgreSQL server for tests: Debian's
// postgresql package's initdb and postgres, in a temporary directory,
// listening on a unix socket only, so no port is taken and no server of
// the machine is touched. PostgreSQL refuses to run as root, so under root
// the server runs as the unprivileged user "nobody" and owns only its own
// directory.
//
// Where PostgreSQL is not installed the test is skipped, unless
// APIE_REQUIRE_POSTGRES=1 (CI sets it): then it fails.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"apie/internal/testutil"
)

// RequireEnv names the environment variable that turns a missing
// PostgreSQL into a test failure.
const RequireEnv = "APIE_REQUIRE_POSTGRES"

// startTimeout bounds how long the server may take to accept connections:
// generous, for a loaded machine.
const startTimeout = 2 * time.Minute

// Server is a running private PostgreSQL.
type Server struct {
	Dir  string         // the server's directory: data/ and the socket's directory s/
	Proc *testutil.Proc // the running postgres; Stop and Resume replace it
	dsn  string
	next atomic.Int64 // numbers the schemas and databases handed out

	bin      string // the directory of initdb and postgres
	uid, gid int    // who runs the server
}

// BinDir returns the directory holding initdb and postgres: $APIE_PG_BINDIR
// if set, else the newest /usr/lib/postgresql/<version>/bin (where Debian
// puts them, off PATH), else the directory of an initdb on PATH.
func BinDir() (string, error) {
	if d := os.Getenv("APIE_PG_BINDIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Dir(real), nil
		}
	}
	return "", errors.New("PostgreSQL is not installed (apt-get install postgresql)")
}

// version is the major version in a /usr/lib/postgresql/<version>/bin path.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Start starts a private PostgreSQL for t and stops it when t ends. A
// machine without PostgreSQL skips t (fails it under APIE_REQUIRE_POSTGRES=1).
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		testutil.SkipOrFail(t, RequireEnv, err.Error())
	}
	uid, gid, err := ServerUser()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Not t.TempDir: its parents are closed to other users, and the
	// server's user must reach its directory. The socket's path must stay
	// short (about 100 bytes), so the directory sits directly in the temp dir.
	dir, err := os.MkdirTemp("", "apie-pg-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "s")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatalf("pgtest: give %s to the server's user: %v", d, err)
		}
	}
	if err := os.Chmod(sock, 0o755); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	initdb.SysProcAttr = AsUser(uid, gid)
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	s := &Server{Dir: dir, bin: bin, uid: uid, gid: gid,
		dsn: fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=disable", sock)}
	s.run(t)
	return s
}

// run starts postgres on the server's data directory and waits until it
// answers.
func (s *Server) run(t testing.TB) {
	t.Helper()
	// Only the unix socket: no TCP port to collide with another server.
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.Dir, "data"), "-k", filepath.Join(s.Dir, "s"),
		"-c", "listen_addresses=", "-c", "max_connections=200", "-c", "unix_socket_permissions=0777")
	cmd.SysProcAttr = AsUser(s.uid, s.gid)
	cmd.Dir = s.Dir
	s.Proc = testutil.StartProc(t, "postgres", cmd, syscall.SIGINT, 30*time.Second) // SIGINT: fast shutdown
	if err := s.waitReady(); err != nil {
		t.Fatalf("pgtest: %v\n%s", err, s.Proc.Output.String())
	}
}

// Stop shuts the server down as an operator's restart does (PostgreSQL's
// fast shutdown: open sessions are ended, their transactions rolled back),
// and waits until it is gone. Resume starts it again on the same data.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.Proc.Stop(t, syscall.SIGINT, 30*time.Second)
}

// Resume starts the stopped server again on its data directory and waits
// until it answers.
func (s *Server) Resume(t testing.TB) {
	t.Helper()
	if !s.Proc.Exited() {
		t.Fatal("pgtest: Resume of a server that runs")
	}
	s.run(t)
}

// ServerUser is who runs the server: this process's user, or "nobody"
// when that is root.
func ServerUser() (uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid(), nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return 0, 0, fmt.Errorf("find an unprivileged user to run PostgreSQL as: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// AsUser runs a command as uid:gid when this process is root.
func AsUser(uid, gid int) *syscall.SysProcAttr {
	if os.Geteuid() != 0 {
		return &syscall.SysProcAttr{}
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
}

// waitReady polls until the server answers a query.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var last error
	for {
		if s.Proc.Exited() {
			return fmt.Errorf("postgres exited: %v", s.Proc.Err())
		}
		conn, err := pgx.Connect(ctx, s.dsn)
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT 1")
			conn.Close(ctx)
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections within %s: %v", startTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DSN is the connection string of the server's "postgres" database.
func (s *Server) DSN() string { return s.dsn }

// NewDatabase creates an empty database and returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("apie_test_%d", s.next.Add(1))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return strings.Replace(s.dsn, "dbname=postgres", "dbname="+name, 1)
}

// NewSchema returns a fresh schema name for a store to create in the
// server's "postgres" database: each caller gets its own tables.
func (s *Server) NewSchema() string {
	return fmt.Sprintf("apie_test_%d", s.next.Add(1))
}
