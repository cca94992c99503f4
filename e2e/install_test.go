package e2e

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"apie/internal/testutil"
)

// shippedHtaccess is the .htaccess a user copies beside apie-cgi.
const shippedHtaccess = "../htaccess/.htaccess"

// site is apie-cgi installed in a directory under a web server's document
// root, the way SHARED_HOST_STEPS.md tells a user to.
type site struct {
	dir     string // the install directory
	urlPath string // the script's URL path, like /apie/apie-cgi
}

// installSite installs apie-cgi into docRoot/name as a shared-host user
// would: the binary (0755), the shipped .htaccess (0644) and apie.json
// (0600, content cfg) side by side, owned by o; then, when addUser, the
// first user with `./apie-cgi user add EMAIL INFO` run in that directory
// with the password on standard input, which creates apie-data/ and
// apie-data/passwd beside them.
func installSite(t testing.TB, b testutil.Binaries, o owner, docRoot, name, cfg string, addUser bool) *site {
	t.Helper()
	dir := filepath.Join(docRoot, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("make %s: %v", dir, err)
	}
	copyFile(t, b.CGI, filepath.Join(dir, "apie-cgi"), 0o755)
	copyFile(t, shippedHtaccess, filepath.Join(dir, ".htaccess"), 0o644)
	writeConfig(t, dir, cfg)
	o.chownTree(t, dir)
	if addUser {
		mustRun(t, o, dir, testPassword+"\n", nil, "./apie-cgi", "user", "add", testUser, testInfo)
	}
	return &site{dir: dir, urlPath: "/" + name + "/apie-cgi"}
}

// copyFile copies src to dst with mode.
func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
	if err := out.Close(); err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatalf("chmod %s: %v", dst, err)
	}
}
