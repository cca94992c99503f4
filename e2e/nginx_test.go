package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"apie/internal/testutil"
)

// Where Debian's nginx and fcgiwrap packages put their programs.
const (
	nginxBin    = "/usr/sbin/nginx"
	fcgiwrapBin = "/usr/sbin/fcgiwrap"
)

// requireNginx skips the test when nginx or fcgiwrap is missing, or fails
// it when APIE_REQUIRE_NGINX=1.
func requireNginx(t testing.TB) {
	t.Helper()
	var missing []string
	for _, p := range []string{nginxBin, fcgiwrapBin} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		testutil.SkipOrFail(t, "APIE_REQUIRE_NGINX",
			"nginx and fcgiwrap are not installed (missing "+strings.Join(missing, ", ")+"); apt-get install nginx fcgiwrap")
	}
}

// nginx is a private nginx passing apie-cgi's requests to a private
// fcgiwrap, both stopped when the test ends.
type nginx struct {
	origin   string
	errorLog string
}

// nginxLocation is the server-block snippet NGINX.md gives users: %[1]s is
// the URL path of the directory holding apie-cgi (a regular expression),
// %[2]s the prefix location to deny, %[3]s fcgiwrap's socket.
const nginxLocation = `
        # Nothing under /apie/ is served but apie-cgi, whatever the files
        # there are called: ^~ keeps the server's regular expression
        # locations (static files, PHP) out of this directory, and the
        # one location nested here lets apie-cgi alone through.
        location ^~ %[2]s {
            deny all;
            # apie-cgi, with everything after its name as PATH_INFO.
            location ~ ^(?<apie_script>%[1]s/apie-cgi)(?<apie_path>/.*)?$ {
                allow all;
                fastcgi_pass unix:%[3]s;
                fastcgi_param GATEWAY_INTERFACE CGI/1.1;
                fastcgi_param SERVER_SOFTWARE   nginx;
                fastcgi_param SERVER_PROTOCOL   $server_protocol;
                fastcgi_param SERVER_NAME       $server_name;
                fastcgi_param SERVER_PORT       $server_port;
                fastcgi_param REQUEST_METHOD    $request_method;
                fastcgi_param REQUEST_URI       $request_uri;
                fastcgi_param QUERY_STRING      $query_string;
                fastcgi_param CONTENT_TYPE      $content_type;
                fastcgi_param CONTENT_LENGTH    $content_length;
                fastcgi_param REMOTE_ADDR       $remote_addr;
                fastcgi_param HTTPS             $https if_not_empty;
                fastcgi_param SCRIPT_FILENAME   $document_root$apie_script;
                fastcgi_param SCRIPT_NAME       $apie_script;
                fastcgi_param PATH_INFO         $apie_path;
                # nginx reads the request body whole (into a temporary
                # file when large) and hands it on with its length;
                # apie-cgi refuses bodies without one (411). Answers are
                # streamed.
                fastcgi_buffering off;
            }
        }
`

// startNginx starts fcgiwrap and nginx as the test's user (nginx's
// workers and fcgiwrap as o when root) on a free port, serving docRoot
// with apie-cgi installed under each of prefixes (like "/apie"), or, with
// prefix "", in every directory directly below docRoot.
func startNginx(t testing.TB, o owner, docRoot string, prefixes ...string) *nginx {
	t.Helper()
	requireNginx(t)
	root := filepath.Join(tempDir(t), "nginx")
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o755); err != nil {
		t.Fatalf("make %s: %v", root, err)
	}
	o.chownTree(t, root) // fcgiwrap makes its socket here; nginx workers keep request bodies here
	sock := filepath.Join(root, "fcgiwrap.sock")
	fc := exec.Command(fcgiwrapBin, "-f", "-c", "4", "-s", "unix:"+sock)
	fc.Env = []string{"PATH=/usr/bin:/bin"}
	o.apply(fc)
	// fcgiwrap keeps no state and its prefork parent ignores SIGTERM
	// while children run: stop it with SIGKILL.
	fcp := testutil.StartProc(t, "fcgiwrap", fc, syscall.SIGKILL, 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if fcp.Exited() || time.Now().After(deadline) {
			t.Fatalf("fcgiwrap did not make its socket %s: %v\n%s", sock, fcp.Err(), fcp.Output)
		}
	}
	n := &nginx{errorLog: filepath.Join(root, "error.log")}
	for attempt := 0; attempt < 3; attempt++ {
		port := testutil.FreePort(t)
		conf := filepath.Join(root, "nginx.conf")
		if err := os.WriteFile(conf, []byte(nginxConfig(root, docRoot, prefixes, sock, port, o)), 0o644); err != nil {
			t.Fatalf("write %s: %v", conf, err)
		}
		cmd := exec.Command(nginxBin, "-p", root, "-c", conf, "-e", n.errorLog)
		p := testutil.StartProc(t, "nginx", cmd, syscall.SIGTERM, 15*time.Second)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if p.WaitHTTP(context.Background(), "http://"+addr+"/e2e-ready", readyMarker(port), 15*time.Second) {
			n.origin = "http://" + addr
			t.Cleanup(func() {
				if t.Failed() {
					b, _ := os.ReadFile(n.errorLog)
					t.Logf("nginx error log:\n%s", b)
				}
			})
			return n
		}
		p.Stop(t, syscall.SIGTERM, 5*time.Second)
	}
	b, _ := os.ReadFile(n.errorLog)
	t.Fatalf("nginx did not start:\n%s", b)
	return nil
}

// nginxConfig is the whole nginx.conf. Besides apie's snippets, its
// server has a rule many sites have, serving static files with a cache
// header by regular expression: the snippet must keep it out of apie's
// directory (it would serve apie.json).
func nginxConfig(root, docRoot string, prefixes []string, sock string, port int, o owner) string {
	user := ""
	if o.cred != nil {
		user = fmt.Sprintf("user %s %s;\n", o.name, o.group())
	}
	var snippets strings.Builder
	for _, p := range prefixes {
		snippets.WriteString(nginxSnippet(p, sock))
	}
	return fmt.Sprintf(`daemon off;
%[1]sworker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/tmp/body;
    fastcgi_temp_path %[2]s/tmp/fastcgi;
    proxy_temp_path %[2]s/tmp/proxy;
    uwsgi_temp_path %[2]s/tmp/uwsgi;
    scgi_temp_path %[2]s/tmp/scgi;
    client_max_body_size 64m;
    server {
        listen 127.0.0.1:%[3]d;
        server_name 127.0.0.1;
        root %[4]s;
        location = /e2e-ready {
            return 200 "%[6]s";
        }
        location ~* \.(?:css|js|json|txt|ico|png|svg|xml)$ {
            expires 1d;
        }
%[5]s
    }
}
`, user, root, port, docRoot, snippets.String(), readyMarker(port))
}

// readyMarker is what a server the test started answers on /e2e-ready:
// unique to this test process and port.
func readyMarker(port int) string {
	return fmt.Sprintf("apie-e2e-ready pid=%d port=%d", os.Getpid(), port)
}

// nginxSnippet is nginxLocation for prefix ("" for every directory below
// the root).
func nginxSnippet(prefix, sock string) string {
	if prefix == "" {
		return fmt.Sprintf(nginxLocation, "/[^/]+", "/", sock)
	}
	return fmt.Sprintf(nginxLocation, prefix, prefix+"/", sock)
}

func startNginxTarget(t *testing.T) *target {
	requireNginx(t)
	b := binaries(t)
	o := webOwner(t)
	docRoot := tempDir(t)
	s := installSite(t, b, o, docRoot, "apie", testConfig, true)
	n := startNginx(t, o, docRoot, "/apie")
	return newTarget("nginx-fcgiwrap", n.origin, s.urlPath, testUser, testPassword, true)
}

// TestNginxDocIsTested checks that NGINX.md gives users the very snippet
// the nginx tests run with.
func TestNginxDocIsTested(t *testing.T) {
	doc, err := os.ReadFile("NGINX.md")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(nginxSnippet("/apie", "/run/fcgiwrap.socket"))
	if !strings.Contains(string(doc), want) {
		t.Errorf("NGINX.md does not hold the tested snippet; want:\n%s", want)
	}
}
