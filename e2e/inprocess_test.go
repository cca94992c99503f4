package e2e

import (
	"testing"

	"apie/app"
	"apie/internal/apietest"
)

// The in-process handler reports app.Version; the built binaries report
// testVersion, and the contract rows expect that one from every
// transport. Set before any test runs, never changed after.
func init() { app.Version = testVersion }

// startInProcessTarget serves apie-serve's handler in the test's own
// process, over a fresh data directory with the test config and user:
// the contract table without processes or web servers, in milliseconds.
func startInProcessTarget(t *testing.T) *target {
	srv := apietest.Start(t, apietest.Options{
		Config: testConfig,
		Users:  []apietest.User{{Email: testUser, Password: testPassword, Info: testInfo}},
	})
	return newTarget("in-process", srv.URL, "", testUser, testPassword, false)
}
