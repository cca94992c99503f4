package e2e

import (
	"testing"
)

// transport starts a fresh apie (its own empty data directory and the
// test user) behind one way of serving it, and returns its target.
type transport struct {
	name  string
	start func(t *testing.T) *target
}

// transports are every way apie is served: its handler in the test's own
// process, apie-serve, apie-cgi under each Apache configuration, and
// apie-cgi under nginx + fcgiwrap.
func transports() []transport {
	ts := []transport{{name: "in-process", start: startInProcessTarget}, {name: "apie-serve", start: startServeTarget}}
	for _, m := range apacheModes {
		ts = append(ts, transport{name: m.name, start: func(t *testing.T) *target { return startApacheTarget(t, m) }})
	}
	return append(ts, transport{name: "nginx-fcgiwrap", start: startNginxTarget})
}

func startServeTarget(t *testing.T) *target {
	b := binaries(t)
	o := webOwner(t)
	srv := startServe(t, b, o, newServeDir(t, b, o), "APIE_E2E_SECRET=e2e-secret-must-not-leak")
	return newTarget("apie-serve", srv.origin, "", testUser, testPassword, false)
}

func startApacheTarget(t *testing.T, m apacheMode) *target {
	requireApache(t)
	b := binaries(t)
	o := webOwner(t)
	docRoot := tempDir(t)
	s := installSite(t, b, o, docRoot, "apie", testConfig, true)
	a := startApache(t, m, o, docRoot)
	return newTarget(m.name, a.URL(), s.urlPath, testUser, testPassword, true)
}
