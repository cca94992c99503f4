// Package testutil holds what apie's tests share about running apie's
// programs: building apie-cgi and apie-serve once per run, starting
// apie-serve on a free loopback port and waiting until it listens,
// running the admin command line (user add, verify), child processes in
// process groups of their own that are stopped, with everything they
// started, when a test ends, and a goroutine-safe buffer for their output.
//
// Every helper that can fail takes a testing.TB and fails the test, or
// returns an error where a test wants to look at the failure itself
// (a server that refuses to start). Nothing here is meant for non-test
// code.
package testutil
