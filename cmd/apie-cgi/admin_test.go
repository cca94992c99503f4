package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAdminConfig checks where the admin command line finds the site's
// config: -config, else $APIE_CONFIG, else the .htaccess's SetEnv
// APIE_CONFIG, else apie.json beside the executable, else in the working
// directory, else the defaults.
func TestAdminConfig(t *testing.T) {
	root := t.TempDir()
	dir := func(name string) string {
		d := filepath.Join(root, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	write := func(path, content string) string {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	flagCfg := write(filepath.Join(dir("flag"), "apie.json"), "{}")
	envCfg := write(filepath.Join(dir("env"), "apie.json"), "{}")
	private := write(filepath.Join(dir("private"), "apie.json"), "{}")
	full := dir("site")    // .htaccess with SetEnv, and an apie.json beside
	besideOnly := dir("b") // apie.json beside, .htaccess without SetEnv
	bare := dir("bare")    // nothing beside
	cwd := dir("cwd")      // an apie.json in the working directory
	write(filepath.Join(full, ".htaccess"), "Options +ExecCGI\nSetEnv APIE_CONFIG "+private+"\n")
	write(filepath.Join(full, "apie.json"), "{}") // loses to the .htaccess
	write(filepath.Join(besideOnly, ".htaccess"), "Options +ExecCGI\n")
	besideOnlyCfg := write(filepath.Join(besideOnly, "apie.json"), "{}")
	cwdCfg := write(filepath.Join(cwd, "apie.json"), "{}")

	tests := []struct {
		name           string
		flag, env, exe string
		inCwd          bool
		want           string
	}{
		{"-config first", flagCfg, envCfg, full, true, flagCfg},
		{"then $APIE_CONFIG", "", envCfg, full, true, envCfg},
		{"then the .htaccess's SetEnv", "", "", full, true, private},
		{"then apie.json beside", "", "", besideOnly, true, besideOnlyCfg},
		{"then apie.json in the working directory", "", "", bare, true, cwdCfg},
		{"else the defaults", "", "", bare, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inCwd {
				t.Chdir(cwd)
			} else {
				t.Chdir(root)
			}
			cfg, err := adminConfig(tt.flag, tt.env, tt.exe)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Source != tt.want {
				t.Errorf("got config %q, want %q", cfg.Source, tt.want)
			}
			if tt.want == "" && cfg.Passwd.Path != filepath.Join(tt.exe, "apie-data", "passwd") {
				t.Errorf("defaults: got passwd %q, want it in apie-data beside the executable", cfg.Passwd.Path)
			}
		})
	}
}
