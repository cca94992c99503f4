package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromHtaccess(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" with noFile: no .htaccess at all
		noFile  bool
		want    string // "DIR/" is replaced by the .htaccess's directory
	}{
		{"no .htaccess", "", true, ""},
		{"no SetEnv line", "Options +ExecCGI\nSetHandler cgi-script\n", false, ""},
		{"plain", "Options +ExecCGI\nSetEnv APIE_CONFIG /home/you/apie/apie.json\n", false, "/home/you/apie/apie.json"},
		{"double quotes with a space", `SetEnv APIE_CONFIG "/home/you/my apie/apie.json"` + "\n", false, "/home/you/my apie/apie.json"},
		{"single quotes", "SetEnv APIE_CONFIG '/srv/a.json'\n", false, "/srv/a.json"},
		{"escaped quote", `SetEnv APIE_CONFIG "/srv/a\"b.json"`, false, `/srv/a"b.json`},
		{"directive in any case, indented, tabs, CRLF", "\t  setenv\tAPIE_CONFIG   /srv/c.json  \r\n", false, "/srv/c.json"},
		{"inside a block", "<IfModule mod_env.c>\n  SetEnv APIE_CONFIG /srv/b.json\n</IfModule>\n", false, "/srv/b.json"},
		{"commented out", "# SetEnv APIE_CONFIG /srv/no.json\n  #SetEnv APIE_CONFIG /srv/no.json\n", false, ""},
		{"another variable", "SetEnv APIE_CONFIGX /srv/no.json\nSetEnv apie_config /srv/no.json\nSetEnvIf X y APIE_CONFIG=/srv/no.json\n", false, ""},
		{"the last one wins", "SetEnv APIE_CONFIG /srv/first.json\nSetEnv APIE_CONFIG /srv/last.json\n", false, "/srv/last.json"},
		{"continued line", "SetEnv APIE_CONFIG \\\n /srv/cont.json\n", false, "/srv/cont.json"},
		{"relative: beside the .htaccess", "SetEnv APIE_CONFIG ../private/apie.json\n", false, "DIR/../private/apie.json"},
		{"no value", "SetEnv APIE_CONFIG\n", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, HtaccessName)
			if !tt.noFile {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := FromHtaccess(path)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if rest, ok := strings.CutPrefix(want, "DIR/"); ok {
				want = filepath.Join(dir, rest)
			}
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
