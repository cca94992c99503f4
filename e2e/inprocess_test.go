package e2e

import (
	"testing"

	"apie/internal/apietest"
)

// startInProcessTarget serves apie-serve's handler in the test's own
// process, over a fresh data directory with the test config and user:
// the contract table without processes or web servers, in milliseconds.
// It reports testVersion, as the built binaries do, since the contract
// rows expect that one from every transport.
func startInProcessTarget(t *testing.T) *target {
	srv := apietest.Start(t, apietest.Options{
		Config:  testConfig,
		Version: testVersion,
		Users:   []apietest.User{{Email: testUser, Password: testPassword, Info: testInfo}},
	})
	return newTarget("in-process", srv.URL, "", testUser, testPassword, false)
}
