package apache

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"apie/internal/testutil"
)

// TestMain lets the test binary serve as the CGI program under test: with
// APACHE_TEST_CGI=1 (set by the server's SetEnv) it answers one request
// describing what it received, or, asked ?linger, starts a child that
// outlives the request and names its pid. With APACHE_TEST_SLEEP=1 it is
// that child, deaf to SIGTERM.
func TestMain(m *testing.M) {
	if os.Getenv("APACHE_TEST_SLEEP") == "1" {
		// httpd ends its process group with SIGTERM: outlive that.
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	if os.Getenv("APACHE_TEST_CGI") == "1" {
		err := cgi.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("linger") {
				// Leave a process behind in the server's process group.
				self, _ := os.Executable()
				child := exec.Command(self)
				child.Env = append(os.Environ(), "APACHE_TEST_SLEEP=1")
				out, err := child.StdoutPipe()
				if err == nil {
					err = child.Start()
				}
				if err == nil {
					// Answer once the child ignores SIGTERM.
					_, err = bufio.NewReader(out).ReadString('\n')
				}
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				fmt.Fprintf(w, "child=%d\n", child.Process.Pid)
				return
			}
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "method=%s\npath=%s\nauth=%s\nbody=%s\nenv=%s\n",
				r.Method, os.Getenv("PATH_INFO"), r.Header.Get("Authorization"), body, os.Getenv("APACHE_TEST_EXTRA"))
		}))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// requireApache skips when Apache is not installed, unless
// APIE_REQUIRE_APACHE=1 makes that a failure.
func requireApache(t *testing.T) {
	t.Helper()
	if _, _, err := Find(); err != nil {
		testutil.SkipOrFail(t, "APIE_REQUIRE_APACHE", err.Error())
	}
}

// copyExecutable copies the running test binary to dir/name.
func copyExecutable(t *testing.T, dir, name string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestStartServesCGI(t *testing.T) {
	requireApache(t)
	for _, mpm := range []MPM{Prefork, Event} {
		t.Run(string(mpm), func(t *testing.T) {
			root := t.TempDir()
			cgiDir := filepath.Join(root, "cgi-bin")
			if err := os.Mkdir(cgiDir, 0o755); err != nil {
				t.Fatal(err)
			}
			copyExecutable(t, cgiDir, "echo")
			ctx := context.Background()
			s, err := Start(ctx, Options{
				Dir: filepath.Join(root, "httpd"), MPM: mpm, CGIDir: cgiDir,
				Env:       map[string]string{"APACHE_TEST_CGI": "1", "APACHE_TEST_EXTRA": `a "quoted" value`},
				AccessLog: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Stop(context.Background()) })

			tests := []struct {
				name, method, path, auth, body string
				want                           []string
			}{
				{"get with path info", "GET", "/some/path", "", "",
					[]string{"method=GET", "path=/some/path", `env=a "quoted" value`}},
				{"authorization passes through", "GET", "/events", "Basic YTpi", "",
					[]string{"auth=Basic YTpi", "path=/events"}},
				{"post body", "POST", "/events", "Bearer tok", "hello",
					[]string{"method=POST", "body=hello", "auth=Bearer tok"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					req, err := http.NewRequest(tt.method, s.CGIURL("echo")+tt.path, strings.NewReader(tt.body))
					if err != nil {
						t.Fatal(err)
					}
					if tt.auth != "" {
						req.Header.Set("Authorization", tt.auth)
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						log, _ := s.ErrorLog()
						t.Fatalf("got status %d, want 200; body %q; log:\n%s", resp.StatusCode, got, log)
					}
					for _, w := range tt.want {
						if !strings.Contains(string(got), w+"\n") {
							t.Errorf("got %q, want a line %q", got, w)
						}
					}
				})
			}

			// Apache logs a request after answering it: wait a little.
			var access []byte
			for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				access, err = os.ReadFile(s.AccessLogPath())
				if err != nil {
					t.Fatal(err)
				}
				if strings.Count(string(access), "/cgi-bin/echo") >= len(tests) || time.Now().After(deadline) {
					break
				}
			}
			if n := strings.Count(string(access), "/cgi-bin/echo"); n != len(tests) {
				t.Errorf("got %d CGI requests in the access log, want %d:\n%s", n, len(tests), access)
			}
			if err := s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Stop(ctx); err != nil {
				t.Fatalf("second Stop: got %v, want nil", err)
			}
			if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
				c.Close()
				t.Fatalf("got a connection to %s after Stop, want refused", s.Addr())
			}
		})
	}
}

// TestStopEndsTheProcessGroup leaves a CGI program's child running and
// checks that Stop ends it with the server, and that the port came from
// PickPort.
func TestStopEndsTheProcessGroup(t *testing.T) {
	requireApache(t)
	root := t.TempDir()
	cgiDir := filepath.Join(root, "cgi-bin")
	if err := os.Mkdir(cgiDir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyExecutable(t, cgiDir, "echo")
	var picked []int
	pick := func() (int, error) {
		p, err := freePort()
		picked = append(picked, p)
		return p, err
	}
	s, err := Start(context.Background(), Options{
		Dir: filepath.Join(root, "httpd"), CGIDir: cgiDir, PickPort: pick,
		Env: map[string]string{"APACHE_TEST_CGI": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	if len(picked) == 0 || s.Addr() != net.JoinHostPort("127.0.0.1", strconv.Itoa(picked[len(picked)-1])) {
		t.Fatalf("got address %s, want the last of the picked ports %v", s.Addr(), picked)
	}
	resp, err := http.Get(s.CGIURL("echo") + "?linger")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	line, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "child=")
	child, err := strconv.Atoi(line)
	if !ok || err != nil {
		t.Fatalf("got %q, want child=PID", body)
	}
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	if err := syscall.Kill(child, 0); err != nil {
		t.Fatalf("the CGI program's child %d is not running before Stop: %v", child, err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(child, 0); err == nil {
		t.Fatalf("the CGI program's child %d is still running after Stop", child)
	}
}

func TestDocRootHonoursHtaccess(t *testing.T) {
	requireApache(t)
	root := t.TempDir()
	www := filepath.Join(root, "www")
	if err := os.MkdirAll(filepath.Join(www, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"hello.txt":          "hello\n",
		"private/secret.txt": "secret\n",
		"private/.htaccess":  "Require all denied\n",
	} {
		if err := os.WriteFile(filepath.Join(www, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Start(context.Background(), Options{Dir: filepath.Join(root, "httpd"), DocRoot: www, Modules: []string{"mime"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	for _, tt := range []struct {
		path string
		want int
	}{{"/hello.txt", 200}, {"/private/secret.txt", 403}} {
		resp, err := http.Get(s.URL() + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: got %d, want %d", tt.path, resp.StatusCode, tt.want)
		}
	}
}

func TestStartReportsBadConfig(t *testing.T) {
	requireApache(t)
	_, err := Start(context.Background(), Options{Dir: t.TempDir(), Directives: "NoSuchDirective on"})
	if err == nil {
		t.Fatal("got nil error, want a start failure")
	}
	if !strings.Contains(err.Error(), "NoSuchDirective") {
		t.Fatalf("got %q, want the error log naming NoSuchDirective", err)
	}
}

func TestStartNeedsDir(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Fatal("got nil error, want one for a missing Dir")
	}
}

func TestRender(t *testing.T) {
	dir := t.TempDir()
	mods := filepath.Join(dir, "modules")
	if err := os.Mkdir(mods, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"mpm_prefork", "mpm_event", "authz_core", "alias", "env", "cgi", "cgid", "rewrite"} {
		if err := os.WriteFile(filepath.Join(mods, "mod_"+m+".so"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := newLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    Options
		want    []string
		notWant []string
		wantErr bool
	}{
		{"prefork uses mod_cgi", Options{MPM: Prefork, CGIDir: "/x/cgi"},
			[]string{"LoadModule mpm_prefork_module", "LoadModule cgi_module", "KeepAlive Off", `ScriptAlias /cgi-bin/ "/x/cgi/"`, "CGIPassAuth On", "Listen 127.0.0.1:8080"},
			[]string{"cgid_module", "ScriptSock"}, false},
		{"event uses mod_cgid", Options{MPM: Event, KeepAlive: true},
			[]string{"LoadModule mpm_event_module", "LoadModule cgid_module", "ScriptSock", "KeepAlive On"},
			[]string{"LoadModule cgi_module", "ScriptAlias"}, false},
		{"extra modules once, env quoted", Options{MPM: Prefork, Modules: []string{"rewrite", "rewrite", "cgi"}, Env: map[string]string{"B": `x"y`, "A": "1"}},
			[]string{"LoadModule rewrite_module", `SetEnv A "1"`, `SetEnv B "x\"y"`}, nil, false},
		{"built-in modules are not loaded", Options{MPM: Prefork, Modules: []string{"version"}},
			[]string{"Alias /apache-ready", "Mutex file:"}, []string{"version_module", "CustomLog"}, false},
		{"access log with the time taken", Options{MPM: Prefork, AccessLog: true},
			[]string{"CustomLog", "%D"}, nil, false},
		{"doc root allows overrides", Options{MPM: Prefork, DocRoot: "/x/www"},
			[]string{`DocumentRoot "/x/www"`, "AllowOverride All", "Options +ExecCGI +FollowSymLinks"}, nil, false},
		{"doc root as a shared host has it", Options{MPM: Prefork, DocRoot: "/x/www", DocRootOptions: "None", AllowOverride: "Options=ExecCGI FileInfo"},
			[]string{"  Options None\n", "  AllowOverride Options=ExecCGI FileInfo\n"}, []string{"+FollowSymLinks"}, false},
		{"unknown MPM", Options{MPM: "worker"}, nil, nil, true},
		{"missing module", Options{MPM: Prefork, Modules: []string{"nosuch"}}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir, tt.opts.ModulesDir = dir, mods
			got, err := render(tt.opts, l, 8080, "", "", func(m string) bool { return m == "version" })
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got nil error, want one; config:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("config lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("config has %q, want it absent:\n%s", w, got)
				}
			}
			if n := strings.Count(got, "rewrite_module"); n > 1 {
				t.Errorf("got rewrite_module %d times, want at most once", n)
			}
		})
	}
}

func TestLayoutShortensLongSocketPath(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	l, err := newLayout(long)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(l.run) })
	if len(l.sock) >= 100 {
		t.Fatalf("got socket path of %d bytes, want < 100", len(l.sock))
	}
	if _, err := os.Stat(l.run); err != nil {
		t.Fatalf("short run dir: %v", err)
	}
}

func TestSearchableAncestors(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "a")
	b := filepath.Join(a, "b")
	if err := os.MkdirAll(b, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(a, 0o700|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := searchableAncestors(filepath.Join(b, "file")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		dir  string
		want os.FileMode
	}{{a, 0o701 | os.ModeSetgid}, {b, 0o701}} {
		fi, err := os.Stat(tt.dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeSetgid); got != tt.want {
			t.Errorf("%s: got mode %v, want %v", tt.dir, got, tt.want)
		}
	}
}

func TestFindReportsNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	bin, mods, err := Find()
	if err == nil {
		// Found through the fixed directories: both must be real.
		if !isExecutable(bin) {
			t.Fatalf("got binary %q, not executable", bin)
		}
		if _, err := os.Stat(filepath.Join(mods, "mod_mpm_prefork.so")); err != nil {
			t.Fatalf("got modules %q: %v", mods, err)
		}
		return
	}
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("got %v, want ErrNotInstalled", err)
	}
}
