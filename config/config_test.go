package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	base := "/srv/app"
	tests := []struct {
		name    string
		json    string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty object gives defaults", json: `{}`, check: func(t *testing.T, c Config) {
			if got, want := c.EventLog.Path, "/srv/app/apie-data/events"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if got := c.EventLog.FileMode; got != 0o640 {
				t.Errorf("got mode %o, want 640", got)
			}
			if c.Limits.BatchEvents != 10000 || c.Limits.EventBytes != 1<<20 || c.Limits.RequestBytes != 16<<20 || c.Limits.BodyDepth != 128 {
				t.Errorf("limits %+v are not the contract's defaults", c.Limits)
			}
		}},
		{name: "apie keys", json: `{"eventlog":{"path":"ev","fileMode":"rw-------","dirMode":"rwx------"},
			"contentstore":{"path":"/abs/blobs","url":"https://x.example/files","fileMode":"r--------","dirMode":"rwx------"}}`,
			check: func(t *testing.T, c Config) {
				if got, want := c.EventLog.Path, "/srv/app/ev"; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
				if got, want := c.ContentStore.Path, "/abs/blobs"; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
				if c.EventLog.FileMode != 0o600 || c.EventLog.DirMode != 0o700 || c.ContentStore.FileMode != 0o400 {
					t.Errorf("modes not applied: %o %o %o", c.EventLog.FileMode, c.EventLog.DirMode, c.ContentStore.FileMode)
				}
				if c.ContentStore.URL != "https://x.example/files" {
					t.Errorf("url %q", c.ContentStore.URL)
				}
			}},
		{name: "limits and auth", json: `{"limits":{"eventBytes":10,"requestBytes":20,"batchEvents":3,"bodyDepth":9999,"blobBytes":40},"auth":{"bcryptCost":5,"tokenLifetime":"2h"}}`,
			check: func(t *testing.T, c Config) {
				if c.Limits.EventBytes != 10 || c.Limits.RequestBytes != 20 || c.Limits.BatchEvents != 3 || c.Limits.BodyDepth != 9999 || c.Limits.BlobBytes != 40 {
					t.Errorf("limits %+v", c.Limits)
				}
				if c.Auth.BcryptCost != 5 || c.Auth.TokenLifetime != 2*time.Hour {
					t.Errorf("auth %+v", c.Auth)
				}
			}},
		{name: "cgi.trustWebRoot is off unless set", json: `{}`, check: func(t *testing.T, c Config) {
			if c.CGI.TrustWebRoot {
				t.Error("trustWebRoot is on by default")
			}
		}},
		{name: "cgi.trustWebRoot", json: `{"cgi":{"trustWebRoot":true}}`, check: func(t *testing.T, c Config) {
			if !c.CGI.TrustWebRoot {
				t.Error("trustWebRoot not applied")
			}
		}},
		{name: "consumers follow eventlog.path by default", json: `{"eventlog":{"path":"ev"}}`, check: func(t *testing.T, c Config) {
			if got, want := c.Consumers.Path, "/srv/app/ev/consumers"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}},
		{name: "consumers default", json: `{}`, check: func(t *testing.T, c Config) {
			if got, want := c.Consumers.Path, "/srv/app/apie-data/events/consumers"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}},
		{name: "consumers.path", json: `{"consumers":{"path":"pos"}}`, check: func(t *testing.T, c Config) {
			if got, want := c.Consumers.Path, "/srv/app/pos"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}},
		{name: "consumers.path empty", json: `{"consumers":{"path":""}}`, wantErr: "consumers.path: must not be empty"},
		{name: "consumers unknown key", json: `{"consumers":{"dir":"x"}}`, wantErr: `unknown field "dir"`},
		{name: "cgi.trustWebRoot not a boolean", json: `{"cgi":{"trustWebRoot":"yes"}}`, wantErr: "trustWebRoot"},
		{name: "unknown key", json: `{"eventlog":{"pth":"x"}}`, wantErr: `unknown field "pth"`},
		{name: "unknown top key", json: `{"evenlog":{}}`, wantErr: `unknown field "evenlog"`},
		{name: "bad mode", json: `{"eventlog":{"fileMode":"rw-r--r-x-"}}`, wantErr: "eventlog.fileMode"},
		{name: "mode without owner write", json: `{"eventlog":{"fileMode":"r--r-----"}}`, wantErr: "eventlog.fileMode"},
		{name: "bad cost", json: `{"auth":{"bcryptCost":3}}`, wantErr: "auth.bcryptCost"},
		{name: "bad duration", json: `{"auth":{"tokenLifetime":"forever"}}`, wantErr: "auth.tokenLifetime"},
		{name: "negative limit", json: `{"limits":{"eventBytes":-1}}`, wantErr: "limits.eventBytes"},
		{name: "body depth 0", json: `{"limits":{"bodyDepth":0}}`, wantErr: "limits.bodyDepth: must be 1..9999, got 0"},
		{name: "body depth too deep for JSON readers", json: `{"limits":{"bodyDepth":10000}}`, wantErr: "limits.bodyDepth: must be 1..9999, got 10000"},
		{name: "empty path", json: `{"eventlog":{"path":""}}`, wantErr: "eventlog.path"},
		{name: "trailing data", json: `{} {}`, wantErr: "trailing data"},
		{name: "not json", json: `eventlog=x`, wantErr: "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.json), base)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	c, err := Find("", []string{dir}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "" || c.EventLog.Path != filepath.Join(dir, "apie-data", "events") {
		t.Fatalf("defaults: got source %q path %q", c.Source, c.EventLog.Path)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(`{"eventlog":{"path":"log"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Find("", []string{t.TempDir(), dir}, "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.EventLog.Path, filepath.Join(dir, "log"); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := Find(filepath.Join(dir, "missing.json"), nil, dir); err == nil {
		t.Fatal("a named config that is missing must be an error")
	}
}

func TestPublicHasNoSecrets(t *testing.T) {
	c := Defaults("/x")
	pub := c.Public()
	if _, ok := pub["passwd"]; ok {
		t.Fatal("public config must not expose the passwd section")
	}
}

// TestLoadFindsApiePasswd checks which users file a config uses: an
// explicit passwd.path, else Apie's passwd beside apie.json when it
// exists (even when apie-data/passwd exists too), else apie-data/passwd.
func TestLoadFindsApiePasswd(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		files []string // made beside apie.json before loading
		want  string   // relative to apie.json's directory
	}{
		{"no passwd anywhere: the default", `{}`, nil, "apie-data/passwd"},
		{"only Apie's keys, Apie's passwd beside", `{"eventlog":{"path":"events"},"contentstore":{"path":"blobs"}}`,
			[]string{"passwd"}, "passwd"},
		{"Apie's passwd wins over apie-data/passwd", `{}`, []string{"passwd", "apie-data/passwd"}, "passwd"},
		{"only apie-data/passwd", `{}`, []string{"apie-data/passwd"}, "apie-data/passwd"},
		{"an explicit passwd.path wins", `{"passwd":{"path":"users/passwd"}}`, []string{"passwd"}, "users/passwd"},
		{"passwd section without a path", `{"passwd":{"fileMode":"rw-r-----"}}`, []string{"passwd"}, "passwd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfgPath := filepath.Join(dir, FileName)
			if err := os.WriteFile(cfgPath, []byte(tt.json), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.want); c.Passwd.Path != want {
				t.Errorf("got passwd %q, want %q", c.Passwd.Path, want)
			}
		})
	}
}

// TestReadErrorIsMarked checks that a config that cannot be read says so
// through ErrRead, with the cause in the same chain.
func TestReadErrorIsMarked(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.json"))
	if !errors.Is(err, ErrRead) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want ErrRead wrapping fs.ErrNotExist", err)
	}
}
