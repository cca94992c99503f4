package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"apie/config"
	"apie/internal/pgtest"
	"apie/internal/s3test"
	"apie/internal/testutil"
)

// TestBeyondOneMachineREADME runs the README's "Beyond one machine"
// example: its nginx upstream block, as printed, in front of three
// apie-serve processes on one PostgreSQL and MinIO (only the addresses
// are this test's). Clients that know only the proxy keep one chain with
// every acknowledged event once, and every node took appends.
func TestBeyondOneMachineREADME(t *testing.T) {
	requireNginx(t)
	block := beyondBlock(t, "nginx")
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	c := startCluster(t, pg, s3, 3)
	for i, n := range c.nodes {
		old := fmt.Sprintf("server 127.0.0.1:800%d ", i+1)
		if !strings.Contains(block, old) {
			t.Fatalf("the README's upstream has no %q", old)
		}
		block = strings.Replace(block, old, "server "+n.Addr+" ", 1)
	}
	root := tempDir(t)
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	block = strings.Replace(block, "listen 80;", "listen 127.0.0.1:"+strconv.Itoa(port)+";", 1)
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
%[2]s
}
`, root, block)
	confPath := filepath.Join(root, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testutil.StartProc(t, "nginx", exec.Command(nginxBin, "-p", root, "-c", confPath, "-e", filepath.Join(root, "error.log")),
		syscall.SIGTERM, 15*time.Second)
	proxy := "http://127.0.0.1:" + strconv.Itoa(port)
	if !p.WaitHTTP(context.Background(), proxy+"/", "Apie "+testVersion, 15*time.Second) {
		b, _ := os.ReadFile(filepath.Join(root, "error.log"))
		t.Fatalf("nginx with the README's block does not pass GET / to apie:\n%s\n%s", b, p.Output)
	}
	l := newLoad([]string{proxy})
	const clients, each = 12, 10
	l.run(t, clients, each)
	if t.Failed() {
		return
	}
	if got := l.checkChain(t, "through the proxy", proxy); got != clients*each {
		t.Fatalf("%d events in the chain, want %d", got, clients*each)
	}
	for i, n := range c.nodes {
		n.Shutdown(t) // flushes its request log
		if !strings.Contains(n.Output.String(), "/events") {
			t.Errorf("node %d took no request through the proxy:\n%s", i, n.Output)
		}
	}
}

// beyondBlock returns the ```lang block of the README's section "Beyond
// one machine".
func beyondBlock(t *testing.T, lang string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Beyond one machine")
	if !ok {
		t.Fatal(`README.md has no section "## Beyond one machine"`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	m := regexp.MustCompile("(?s)\n```" + lang + "\n(.*?)\n```\n").FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("the README's section has no ```%s block", lang)
	}
	return m[1]
}

// TestBeyondOneMachineConfig: the apie.json the README's example writes is
// one apie accepts, with the log in PostgreSQL (DSN from the environment),
// the blobs in S3 and the users file and token key beside it.
func TestBeyondOneMachineConfig(t *testing.T) {
	sh := beyondBlock(t, "sh")
	_, rest, ok := strings.Cut(sh, "<<'JSON'\n")
	js, _, ok2 := strings.Cut(rest, "\nJSON\n")
	if !ok || !ok2 {
		t.Fatalf("the README's example writes no apie.json with a JSON here-document:\n%s", sh)
	}
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(js), dir)
	if err != nil {
		t.Fatalf("the README's apie.json: %v", err)
	}
	if p := cfg.EventLog.Postgres; p == nil || p.DSNEnv != "APIE_POSTGRES_DSN" {
		t.Errorf("eventlog: %+v, want postgres with dsnEnv", cfg.EventLog)
	}
	if cfg.ContentStore.S3 == nil || cfg.Passwd.Path != filepath.Join(dir, "passwd") || cfg.Auth.TokenKey != filepath.Join(dir, "token.key") {
		t.Errorf("contentstore %+v, passwd %s, token key %s", cfg.ContentStore, cfg.Passwd.Path, cfg.Auth.TokenKey)
	}
}
