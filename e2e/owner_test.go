package e2e

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"apie/internal/testutil"
)

// owner is the account apie's files and processes belong to: the test's
// own user, or, when the test runs as root, an unprivileged one (Apache
// will not run CGI programs as root, and a shared host never does). Files
// the test installs are chowned to it and the admin commands and
// apie-serve run as it, as they would for a user on a shared host.
type owner struct {
	name string
	uid  int
	gid  int
	cred *syscall.Credential // nil when the test runs as owner itself
}

// webOwner returns the owner for this run: the current user, or when root
// www-data (else nobody).
func webOwner(t testing.TB) owner {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		name := strconv.Itoa(os.Getuid())
		if err == nil {
			name = u.Username
		}
		return owner{name: name, uid: os.Getuid(), gid: os.Getgid()}
	}
	for _, name := range []string{"www-data", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return owner{name: name, uid: uid, gid: gid,
			cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}}
	}
	t.Fatalf("running as root, but neither www-data nor nobody exists to own apie's files")
	return owner{}
}

// group is the owner's group name, for Apache's Group directive.
func (o owner) group() string {
	if g, err := user.LookupGroupId(strconv.Itoa(o.gid)); err == nil {
		return g.Name
	}
	return "#" + strconv.Itoa(o.gid)
}

// apply makes cmd run as o.
func (o owner) apply(cmd *exec.Cmd) {
	if o.cred == nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = o.cred
}

// chownTree gives everything under dir to o (a no-op unless root).
func (o owner) chownTree(t testing.TB, dir string) {
	t.Helper()
	if o.cred == nil {
		return
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, o.uid, o.gid)
	})
	if err != nil {
		t.Fatalf("chown %s to %s: %v", dir, o.name, err)
	}
}

// tempDir returns a new t.TempDir() that other users may traverse (its
// parent too), so an unprivileged Apache child or CGI program can reach
// files below it when the test runs as root; then every directory above
// must let them through too.
func tempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("open up %s: %v", d, err)
		}
	}
	for d := filepath.Dir(filepath.Dir(dir)); os.Geteuid() == 0; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s is closed to other users, so Apache's children could not reach %s: set TMPDIR to a directory they can traverse", d, dir)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return dir
}

// mustRun runs a short command as o in dir with stdin and env added, and
// returns its combined output; it fails the test unless the command
// exits 0 within two minutes.
func mustRun(t testing.TB, o owner, dir, stdin string, env []string, name string, args ...string) string {
	t.Helper()
	return testutil.Command{Path: name, Dir: dir, Env: env, Cred: o.cred}.Must(t, stdin, args...)
}
