package filestore

// # Blob store on disk
//
// A blob store is one directory (contentstore.path). Everything in it:
//
//	format            "apie-blobstore 1\n": the layout version. OpenBlobStore
//	                  writes it into a new store and refuses any other value.
//	lock              empty; flock'd (exclusive) while a blob is committed or
//	                  deleted, by any process sharing the directory.
//	tmp/              uploads in flight, each "<random>.part".
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
//  1. The body is streamed into tmp/<random>.part while hashed, with a
//     fixed buffer, so memory does not grow with the blob. Over MaxBytes,
//     on a hash mismatch, on a full disk or a cancelled request the temp
//     file is removed and nothing else has changed.
//  2. The temp file is fsync'd, set to FileMode and closed.
//  3. Under the lock: if <hh>/<hash> exists, the upload changes nothing
//     (created = false; the stored metadata is returned). Otherwise <hh>/ is
//     created if new (and its parent fsync'd), <hash>.meta is written
//     atomically (temp ".<hash>.meta.tmp-*", fsync, rename, fsync of <hh>),
//     the temp file is hard-linked to <hh>/<hash> (link(2) never replaces
//     a file; where the file system has no hard links, rename under the
//     lock does the same), and <hh>/ is fsync'd.
//  4. The temp name is removed.
//
// So a file named by a hash is always complete and durable, and a blob is
// never without its metadata. A crash can leave: a tmp/*.part file
// (OpenBlobStore removes those unmodified for an hour; an upload in
// progress keeps its mtime fresh); a <hash>.meta without its blob (the
// next upload of those bytes overwrites it); a ".*.tmp-*" file of an
// interrupted metadata write (Verify removes it once stale). None of these
// is reported as damage.
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
