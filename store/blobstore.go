package store

import (
	"context"
	"io"
	"time"

	"apie/sum"
)

// BlobStore is a content-addressed store of immutable blobs: what the HTTP
// layer needs of one. Implementations are safe for concurrent use.
type BlobStore interface {
	// Put stores the bytes read from r, with meta's ContentType and
	// Filename, and returns the stored info and whether the blob is new.
	// It is idempotent: storing bytes already stored succeeds with created
	// == false and keeps the first upload's info. A bad filename wraps
	// ErrBadName; bytes that do not hash to *want (when want is not nil)
	// wrap ErrHashMismatch; on any error nothing is kept.
	Put(ctx context.Context, r io.Reader, meta BlobInfo, want *sum.Hash) (info BlobInfo, created bool, err error)
	// Open returns the blob with hash h for reading, and its info; the
	// caller closes it. A missing blob is ErrNotFound. The reader seeks, so
	// ranges cost only the bytes sent; a store of files returns an *os.File
	// so that net/http can send it with sendfile(2), a remote store a
	// reader of its own.
	Open(ctx context.Context, h sum.Hash) (io.ReadSeekCloser, BlobInfo, error)
	// Delete removes the blob with hash h; a missing blob is ErrNotFound.
	Delete(ctx context.Context, h sum.Hash) error
	// Verify rehashes every blob and lists the problems in the report; err
	// is for failures to read and a cancelled ctx.
	Verify(ctx context.Context, fixModes bool) (BlobReport, error)
}

// BlobInfo describes a stored blob. Size is always the size of the bytes
// stored; ContentType and Filename are those of the first upload.
type BlobInfo struct {
	Hash        sum.Hash
	Size        int64
	ContentType string
	Filename    string
	Created     time.Time
}

// BadBlob is one problem Verify found. Hash is the hash the file is named
// by ("" for a stray file); Path is relative to the store's directory,
// slash-separated.
type BadBlob struct {
	Hash   string
	Path   string
	Reason string
}

// BlobReport is what Verify found: Blobs and Bytes count every blob file
// read (bad ones included); Bad lists the problems in path order.
type BlobReport struct {
	Blobs int
	Bytes int64
	Bad   []BadBlob
}
