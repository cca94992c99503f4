// Package faults tests apie as its users run it, under the faults and
// hostile input a real deployment meets: kill -9 at random moments, power
// loss (on internal/lazyfs, a FUSE file system that drops what was not
// fsync'd; a few dozen cuts in make test, over 1,000 under make
// reliability or APIE_POWER_CUTS=n each), a full disk, a read-only or foreign-owned data directory, damaged files, lost
// indexes, path and header tricks, slow clients and password guessing.
//
// It has no code of its own outside tests. TestMain builds apie-serve and
// apie-cgi (CGO_ENABLED=0, -trimpath) into a temporary directory and every
// test drives those binaries over HTTP, as CGI processes, or through their
// admin commands, against real files under t.TempDir (or a small tmpfs the
// test mounts, as root).
//
// Each test records what it tried in a table (fault, what was done, count,
// result). With APIE_RELIABILITY_OUT=path set, TestMain writes the table as
// Markdown to path; `make reliability` does that for RELIABILITY.md, and
// TestReliabilityTable checks that every row published there is one the
// tests still record.
//
// Mount-based tests (tmpfs, lazyfs) skip where mounting is impossible (not root, no
// tmpfs), unless APIE_REQUIRE_MOUNT=1, which turns the skip into a failure.
package faults
