package webroot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree makes files under dir: path -> content ("" for a directory).
func tree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if content == "" {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheck(t *testing.T) {
	top := t.TempDir()
	www := filepath.Join(top, "www")
	marked := "Require all denied\n" + Marker + "\n"
	tree(t, top, map[string]string{
		"www/apie/.htaccess":              marked,
		"www/apie/apie-data/events":       "",
		"www/apie/events":                 "",
		"www/old/.htaccess":               "<FilesMatch \"^passwd$\">\nRequire all denied\n</FilesMatch>\n",
		"www/old/storage":                 "",
		"www/nested/data/.htaccess":       "Options -Indexes\r\n" + Marker + "\r\n",
		"www/nested/data/x/events":        "",
		"www/near/.htaccess":              "# apie:allow-list-not\n## apie:allow-list\nx " + Marker + "\n",
		"www/near/events":                 "",
		"www/self/events/.htaccess":       marked,
		"home/public_html/apie/.htaccess": "Options +ExecCGI\n",
		"home/public_html/apie/passwd":    "x",
		"private/events":                  "",
	})
	// Above the root: a marked .htaccess there is not the web root's.
	tree(t, top, map[string]string{"www2/.htaccess": marked, "www2/root/events": ""})
	link := filepath.Join(top, "link")
	if err := os.Symlink(www, link); err != nil {
		t.Fatal(err)
	}
	apache := map[string]string{"SERVER_SOFTWARE": "Apache/2.4.71 (Debian)", "DOCUMENT_ROOT": www}
	with := func(env map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	p := func(rel string) string { return filepath.Join(top, rel) }
	tests := []struct {
		name    string
		env     map[string]string
		dirs    []string
		files   []string
		exposed string // the paths named (joined by " "), or "" for nil
	}{
		{"the default layout beside the shipped .htaccess", apache,
			[]string{p("www/apie/apie-data/events")}, []string{p("www/apie/apie.json"), p("www/apie/apie-data/passwd")}, ""},
		{"Apie's events/ beside the shipped .htaccess", apache, []string{p("www/apie/events")}, nil, ""},
		{"data outside the web root", apache, []string{p("private/events"), ""}, []string{p("private/passwd")}, ""},
		{"under an .htaccess without the marker (the old deny-list)", apache,
			[]string{p("www/apie/events"), p("www/old/storage")}, []string{p("www/old/passwd")}, p("www/old/storage") + " " + p("www/old/passwd")},
		{"a file that does not exist yet is checked too", apache, nil, []string{p("www/old/token.key")}, p("www/old/token.key")},
		{"no .htaccess at all", apache, []string{p("www/bare/events")}, nil, p("www/bare/events")},
		{"a marked .htaccess two levels up, CRLF lines", apache, []string{p("www/nested/data/x/events")}, []string{p("www/nested/data/x/passwd")}, ""},
		{"the marker must be a line of its own", apache, []string{p("www/near/events")}, nil, p("www/near/events")},
		{"a marked .htaccess inside the data directory", apache, []string{p("www/self/events")}, nil, ""},
		{"a file is not a directory: its name is not looked in", apache, nil, []string{p("www/self/events")}, p("www/self/events")},
		{"the web root itself", apache, []string{www}, nil, www},
		{"a marked .htaccess above the web root does not count",
			with(apache, "DOCUMENT_ROOT", p("www2/root")), []string{p("www2/root/events")}, nil, p("www2/root/events")},
		{"nginx: the server's own configuration is the protection",
			with(apache, "SERVER_SOFTWARE", "nginx"), []string{p("www/bare/events")}, nil, ""},
		{"no server software named", with(apache, "SERVER_SOFTWARE", ""), []string{p("www/bare/events")}, nil, ""},
		{"no document root named", with(apache, "DOCUMENT_ROOT", ""), []string{p("www/bare/events")}, nil, ""},
		{"a relative document root is ignored", with(apache, "DOCUMENT_ROOT", "www"), []string{p("www/bare/events")}, nil, ""},
		{"a user directory: the root the script's URL maps from",
			with(apache, "DOCUMENT_ROOT", "/var/www/html", "CONTEXT_PREFIX", "",
				"SCRIPT_NAME", "/~you/apie/apie-cgi", "SCRIPT_FILENAME", p("home/public_html/apie/apie-cgi")),
			[]string{p("home/private")}, []string{p("home/public_html/apie/passwd")}, p("home/public_html/apie/passwd")},
		{"a user directory as Apache 2.4 gives it: CONTEXT_PREFIX /~you",
			with(apache, "DOCUMENT_ROOT", "/var/www/html", "CONTEXT_PREFIX", "/~you", "CONTEXT_DOCUMENT_ROOT", p("home/public_html"),
				"SCRIPT_NAME", "/~you/apie/apie-cgi", "SCRIPT_FILENAME", p("home/public_html/apie/apie-cgi")),
			nil, []string{p("home/public_html/apie/passwd")}, p("home/public_html/apie/passwd")},
		{"a user directory, the shipped .htaccess beside the data",
			with(apache, "DOCUMENT_ROOT", "/var/www/html",
				"SCRIPT_NAME", "/~you/apie/apie-cgi", "SCRIPT_FILENAME", p("www/apie/apie-cgi")),
			[]string{p("www/apie/events")}, nil, ""},
		{"a ScriptAlias or Alias: the script's directory is not a web root",
			with(apache, "DOCUMENT_ROOT", "/var/www/html", "CONTEXT_PREFIX", "/cgi-bin/",
				"SCRIPT_NAME", "/cgi-bin/apie-cgi", "SCRIPT_FILENAME", p("www/bare/apie-cgi")),
			[]string{p("www/bare/events")}, nil, ""},
		{"the script's URL shares nothing with its file",
			with(apache, "DOCUMENT_ROOT", "/var/www/html",
				"SCRIPT_NAME", "/api", "SCRIPT_FILENAME", p("www/bare/apie-cgi")),
			[]string{p("www/bare/events")}, nil, ""},
		{"the document root through a symbolic link, the paths resolved",
			with(apache, "DOCUMENT_ROOT", link), []string{p("www/old/storage")}, nil, p("www/old/storage")},
		{"the document root through a symbolic link, protected",
			with(apache, "DOCUMENT_ROOT", link), []string{p("www/apie/events")}, nil, ""},
		{"the paths through a symbolic link",
			apache, []string{p("link/old/storage")}, nil, ""}, // not resolved: a documented limit
		{"a root of /", with(apache, "DOCUMENT_ROOT", "/"), []string{p("www/apie/events")}, nil, ""},
		{"a root of /, unprotected", with(apache, "DOCUMENT_ROOT", "/"), []string{p("private/events")}, nil, p("private/events")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(func(k string) string { return tt.env[k] }, tt.dirs, tt.files)
			if tt.exposed == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var e *ExposedError
			if !errors.As(err, &e) || !errors.Is(err, ErrExposed) {
				t.Fatalf("got %v, want an *ExposedError", err)
			}
			if got := strings.Join(e.Paths, " "); got != tt.exposed {
				t.Errorf("names %s, want %s", got, tt.exposed)
			}
		})
	}
}

// TestShippedHtaccessHasMarker checks that the .htaccess users copy
// carries the line Check looks for.
func TestShippedHtaccessHasMarker(t *testing.T) {
	if !hasMarker(filepath.Join("..", "htaccess", HtaccessName)) {
		t.Errorf("htaccess/.htaccess has no line %q", Marker)
	}
}

func TestExposedErrorSaysWhatToDo(t *testing.T) {
	msg := (&ExposedError{Paths: []string{"/www/apie/events", "/www/apie/passwd"}, Root: "/www"}).Error()
	for _, want := range []string{"/www/apie/events, /www/apie/passwd", "/www", Marker, "htaccess/.htaccess", "trustWebRoot"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %q", msg, want)
		}
	}
}
