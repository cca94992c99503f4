// Package inotify decodes the event records that read(2) returns from an
// inotify descriptor, for the watches apie-serve keeps on its passwd file's
// and event log's directories. It holds code on Linux only.
package inotify
