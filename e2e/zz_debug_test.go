package e2e

import (
	"os"
	"testing"
	"time"
)

func TestZZDebug(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	b := binaries(t)
	o := webOwner(t)
	docRoot := tempDir(t)
	s := installSite(t, b, o, docRoot, "apie", testConfig, true)
	a := startApache(t, apacheModes[0], o, docRoot)
	os.WriteFile("/tmp/zz_url", []byte(a.origin+s.urlPath+"\n"+s.dir+"\n"+a.errorLog), 0o644)
	time.Sleep(150 * time.Second)
}
