// Package blobstore is apie's blob store on disk: a content-addressed store
// of immutable blobs in plain files, one directory shared safely by any
// number of processes (commits and deletes serialize on an flock'd lock
// file, readers take no lock). It implements store.BlobStore; this comment
// specifies its format.
//
// # Blob store on disk
//
// A blob store is one directory (contentstore.path). Everything in it:
//
//	format            "apie-blobstore 1\n": the layout version. OpenBlobStore
//	                  writes it into a new store and refuses any other value.
//	lock              empty; flock'd (exclusive) while a blob is committed or
//	                  deleted, by any process sharing the directory.
//	tmp/              uploads in flight: "<random>.part" holds an upload's
//	                  bytes, "<random>.meta.part" its metadata until commit.
//	<hh>/             the 256 fan-out directories, 00 to ff, all created
//	                  with the store (before its format file is written).
//	                  A store made by earlier versions may lack some; the
//	                  first Put that needs one creates it.
//	<hh>/<hash>       a blob: exactly the bytes whose SHA-256 is <hash>
//	                  (64 lowercase hex digits); <hh> is its first two.
//	                  Mode FileMode (default 0440, so r--r-----).
//	<hh>/<hash>.meta  its metadata, one JSON object and "\n":
//	                  {"contentType":"…","filename":"…","size":N,
//	                   "created":"2026-11-22T06:29:35Z"}
//	                  contentType and filename are those of the first upload;
//	                  created is RFC 3339 UTC; size is the blob's length.
//
// Directories have mode DirMode (default 0750, rwxr-x---).
//
// # Storing a blob
//
//  1. The body is streamed into tmp/<random>.part (set to FileMode before
//     the first write) while hashed, through fixed buffers, so memory does
//     not grow with the blob; each chunk's writeback to disk is started as
//     soon as it is written. Over MaxBytes, on a hash mismatch, on a full
//     disk or a cancelled request the temp file is removed and nothing else
//     has changed.
//  2. The metadata is written to tmp/<random>.meta.part and its writeback
//     started; then the bytes' file and the metadata's are fsync'd and
//     closed. (On a journaling file system one journal commit usually
//     covers both: the second fsync finds nothing left to commit.)
//  3. Under the lock: if <hh>/<hash> exists, the upload changes nothing
//     (created = false; the stored metadata is returned) unless that
//     metadata is missing or unreadable, when the upload's is renamed into
//     its place. Otherwise the metadata is renamed to <hh>/<hash>.meta
//     (replacing one left without its blob), then the bytes' temp file is
//     hard-linked to <hh>/<hash> (link(2) never replaces a file; where the
//     file system has no hard links, rename under the lock does the same).
//     Either way <hh>/ is then fsync'd, once: it makes both new names
//     durable, and a blob that another process linked but was killed before
//     syncing is durable before this upload reports it stored.
//  4. The temp names left are removed.
//
// So a file named by a hash is always complete and durable: its bytes were
// fsync'd before it got the name. What a crash can leave:
//
//   - kill -9 at any instant: the kernel applies a process's renames and
//     links in order, so a blob's name never exists without its metadata's.
//     Left behind: tmp/*.part files (OpenBlobStore removes those unmodified
//     for an hour; an upload in progress keeps its mtime fresh), and a
//     <hash>.meta without its blob (renamed, not yet linked): Open and Stat
//     do not see it, Verify does not report it, and the next upload of those
//     bytes replaces it.
//   - power loss: nothing acknowledged is lost. Of the last commit, the
//     renamed metadata and the linked blob may or may not have reached the
//     disk. Journaling file systems (ext4, XFS, btrfs) keep the order of
//     operations in one directory, so the blob's name survives only with
//     its metadata's. On a file system that did not, a blob could come back
//     without metadata: Open and Stat serve it as application/octet-stream
//     with no filename and the file's mtime as created, Verify reports
//     "missing metadata", and the next upload of the same bytes writes its
//     metadata (created = false).
//   - a ".<hash>.meta.tmp-*" file in <hh>/: the interrupted metadata write
//     of an earlier version (which wrote metadata in place); Verify removes
//     it once stale.
//
// Of these only a blob without metadata is reported as damage, and every
// one of them leaves a store that opens, serves and takes uploads.
//
// # Deleting a blob
//
// Under the lock: <hh>/<hash> is removed first (so the blob is never
// served without metadata), then <hash>.meta, then <hh>/ is fsync'd.
// <hh>/ directories are never removed.
//
// # Verify
//
// Rehashes every <hh>/<hash> and checks its metadata; anything else in the
// store's directory or a <hh>/ directory is a stray file.
package blobstore
