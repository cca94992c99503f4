// Package durable holds the few file operations that carry apie's
// durability promises, written once for every store: replacing a file
// atomically (temp file, fsync, rename, directory fsync), creating one
// exclusively, fsyncing a directory, and the flock'd lock files that let
// any number of processes share a directory.
//
// Every function here returns only once what it promises is on disk: when
// WriteFile returns nil, a crash or power loss leaves the new content; when
// it fails, the old file is untouched and no temporary file is left.
//
// Locks are flock(2) locks on a separate lock file. They belong to an open
// file description, so two holders in one process exclude each other as two
// processes do, and closing another descriptor of the file never drops them
// (as it would with fcntl locks). flock cannot be interrupted, so waiting
// for a lock polls with a backoff from 50µs to 5ms until the context ends.
package durable
