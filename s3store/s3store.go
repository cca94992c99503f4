// Package s3store keeps apie's blobs in an S3-compatible object store
// (MinIO, SeaweedFS, AWS S3, R2): a store.BlobStore that any number of
// apie-serve processes share.
//
// A blob is one object, named by its hash with the file store's fan-out:
// <prefix><hh>/<hash>, <hh> its first two hex digits. Its content type is
// the object's Content-Type; its filename (percent-encoded) and creation
// time are user metadata (X-Amz-Meta-Apie-Filename, X-Amz-Meta-Apie-Created).
// An upload is spooled to a temporary file while it is hashed, so it is
// never whole in memory and a hash mismatch is found before anything is
// sent; only bytes whose hash is right are ever put, under their hash, in
// one PUT with If-None-Match: * so that of concurrent uploads of the same
// bytes exactly one creates the object and the first upload's metadata is
// kept.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"apie/store"
	"apie/sum"
)

// Options configure Open.
type Options struct {
	Endpoint  string // host[:port] of the S3 API
	Bucket    string
	Region    string // "" lets the client find out
	AccessKey string
	SecretKey string
	Secure    bool   // HTTPS
	Prefix    string // prepended to every object name, e.g. "blobs/"; "" = none
	MaxBytes  int64  // largest blob Put accepts; 0 = no limit
	TempDir   string // where uploads are spooled; "" = os.TempDir()
	// CreateBucket makes the bucket if it does not exist.
	CreateBucket bool
}

// BlobStore is a store.BlobStore in an S3-compatible bucket.
type BlobStore struct {
	client *minio.Client
	opts   Options
}

var _ store.BlobStore = (*BlobStore)(nil)

// The user metadata keys, as minio-go reports them back (canonical case,
// without the X-Amz-Meta- prefix).
const (
	metaFilename = "Apie-Filename"
	metaCreated  = "Apie-Created"
)

// Open connects to the object store and checks that the bucket exists
// (making it when opts.CreateBucket is set).
func Open(ctx context.Context, opts Options) (*BlobStore, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, errors.New("s3 blob store: endpoint and bucket are needed")
	}
	client, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure: opts.Secure,
		Region: opts.Region,
		// A few quick retries, then the error: a request that waits on a
		// store that is down is better answered 503 (the client retries).
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 blob store %s: %w", opts.Endpoint, unavailable(err))
	}
	ok, err := client.BucketExists(ctx, opts.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store %s: bucket %s: %w", opts.Endpoint, opts.Bucket, unavailable(err))
	}
	if !ok {
		if !opts.CreateBucket {
			return nil, fmt.Errorf("s3 blob store %s: bucket %s does not exist", opts.Endpoint, opts.Bucket)
		}
		err := client.MakeBucket(ctx, opts.Bucket, minio.MakeBucketOptions{Region: opts.Region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("s3 blob store %s: make bucket %s: %w", opts.Endpoint, opts.Bucket, unavailable(err))
		}
	}
	return &BlobStore{client: client, opts: opts}, nil
}

// Close releases nothing: the client holds only idle connections.
func (b *BlobStore) Close() error { return nil }

// key is the object name of the blob with hash h.
func (b *BlobStore) key(h sum.Hash) string {
	s := h.String()
	return b.opts.Prefix + s[:2] + "/" + s
}

// Put spools r to a temporary file while hashing it, checks the hash and
// the size, then puts the object unless it exists.
func (b *BlobStore) Put(ctx context.Context, r io.Reader, meta store.BlobInfo, want *sum.Hash) (store.BlobInfo, bool, error) {
	if err := store.CheckFilename(meta.Filename); err != nil {
		return store.BlobInfo{}, false, err
	}
	f, h, size, err := b.spool(r)
	if err != nil {
		return store.BlobInfo{}, false, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if want != nil && *want != h {
		return store.BlobInfo{}, false, fmt.Errorf("put: got %s, want %s: %w", h, *want, store.ErrHashMismatch)
	}
	if info, err := b.stat(ctx, h); err == nil {
		return info, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.BlobInfo{}, false, err
	}
	created := time.Now().UTC().Truncate(time.Second)
	info := store.BlobInfo{Hash: h, Size: size, ContentType: store.ContentTypeOf(meta.ContentType), Filename: meta.Filename, Created: created}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return store.BlobInfo{}, false, fmt.Errorf("put %s: rewind the spool: %w", h, err)
	}
	opts := minio.PutObjectOptions{
		ContentType: info.ContentType,
		UserMetadata: map[string]string{
			metaFilename: url.PathEscape(info.Filename),
			metaCreated:  created.Format(time.RFC3339),
		},
		SendContentMd5: true, // the server checks the bytes it got
	}
	opts.SetMatchETagExcept("*") // never replace: the first upload's metadata stays
	_, err = b.client.PutObject(ctx, b.opts.Bucket, b.key(h), f, size, opts)
	if err != nil {
		if code := minio.ToErrorResponse(err).Code; code == "PreconditionFailed" || code == "ConditionalRequestConflict" {
			info, err := b.stat(ctx, h) // a concurrent upload of the same bytes won
			return info, false, err
		}
		return store.BlobInfo{}, false, fmt.Errorf("s3 blob store: put %s: %w", h, unavailable(err))
	}
	return info, true, nil
}

// spool copies r to a new temporary file, hashing it, and returns the
// file, the hash and the size. Over MaxBytes it fails with
// store.ErrTooLarge and keeps nothing.
func (b *BlobStore) spool(r io.Reader) (*os.File, sum.Hash, int64, error) {
	f, err := os.CreateTemp(b.opts.TempDir, "apie-upload-")
	if err != nil {
		return nil, sum.Hash{}, 0, fmt.Errorf("put: make the spool file: %w", err)
	}
	fail := func(err error) (*os.File, sum.Hash, int64, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, sum.Hash{}, 0, err
	}
	hasher := sum.New()
	src := r
	if b.opts.MaxBytes > 0 {
		src = io.LimitReader(r, b.opts.MaxBytes+1)
	}
	size, err := io.Copy(io.MultiWriter(f, hasher), src)
	if err != nil {
		return fail(fmt.Errorf("put: spool the upload: %w", err))
	}
	if b.opts.MaxBytes > 0 && size > b.opts.MaxBytes {
		return fail(fmt.Errorf("put: %w: more than %d bytes", store.ErrTooLarge, b.opts.MaxBytes))
	}
	return f, sum.FromDigest(hasher.Sum(nil)), size, nil
}

// stat returns the info of the blob with hash h, or store.ErrNotFound.
func (b *BlobStore) stat(ctx context.Context, h sum.Hash) (store.BlobInfo, error) {
	oi, err := b.client.StatObject(ctx, b.opts.Bucket, b.key(h), minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return store.BlobInfo{}, fmt.Errorf("blob %s: %w", h, store.ErrNotFound)
		}
		return store.BlobInfo{}, fmt.Errorf("s3 blob store: stat %s: %w", h, unavailable(err))
	}
	return infoOf(h, oi), nil
}

// infoOf reads a blob's info from its object. Metadata that does not
// decode falls back as the file store's does: no filename, the object's
// modification time.
func infoOf(h sum.Hash, oi minio.ObjectInfo) store.BlobInfo {
	info := store.BlobInfo{Hash: h, Size: oi.Size, ContentType: store.ContentTypeOf(oi.ContentType), Created: oi.LastModified.UTC()}
	if name, err := url.PathUnescape(oi.UserMetadata[metaFilename]); err == nil && store.CheckFilename(name) == nil {
		info.Filename = name
	}
	if t, err := time.Parse(time.RFC3339, oi.UserMetadata[metaCreated]); err == nil {
		info.Created = t.UTC()
	}
	return info
}

func isNotFound(err error) bool {
	resp := minio.ToErrorResponse(err)
	return resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey"
}

// Open returns the blob for reading: a reader that fetches what is read,
// so a Seek and a short read cost only the bytes sent.
func (b *BlobStore) Open(ctx context.Context, h sum.Hash) (io.ReadSeekCloser, store.BlobInfo, error) {
	info, err := b.stat(ctx, h)
	if err != nil {
		return nil, store.BlobInfo{}, err
	}
	obj, err := b.client.GetObject(ctx, b.opts.Bucket, b.key(h), minio.GetObjectOptions{})
	if err != nil {
		return nil, store.BlobInfo{}, fmt.Errorf("s3 blob store: get %s: %w", h, unavailable(err))
	}
	return obj, info, nil
}

// Delete removes the blob with hash h; a missing one is store.ErrNotFound.
func (b *BlobStore) Delete(ctx context.Context, h sum.Hash) error {
	if _, err := b.stat(ctx, h); err != nil {
		return err
	}
	if err := b.client.RemoveObject(ctx, b.opts.Bucket, b.key(h), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3 blob store: delete %s: %w", h, unavailable(err))
	}
	return nil
}

// Verify reads every object under the prefix, rehashes it and reports
// objects whose bytes do not match their name, and stray objects.
// fixModes is for files: here it does nothing.
func (b *BlobStore) Verify(ctx context.Context, fixModes bool) (store.BlobReport, error) {
	var rep store.BlobReport
	for oi := range b.client.ListObjects(ctx, b.opts.Bucket, minio.ListObjectsOptions{Prefix: b.opts.Prefix, Recursive: true}) {
		if oi.Err != nil {
			return rep, fmt.Errorf("s3 blob store: list: %w", unavailable(oi.Err))
		}
		path := strings.TrimPrefix(oi.Key, b.opts.Prefix)
		h, ok := hashOfKey(path)
		if !ok {
			rep.Bad = append(rep.Bad, store.BadBlob{Path: path, Reason: "not a blob's name"})
			continue
		}
		rep.Blobs++
		got, n, err := b.rehash(ctx, oi.Key)
		rep.Bytes += n
		switch {
		case err != nil:
			return rep, err
		case got != h:
			rep.Bad = append(rep.Bad, store.BadBlob{Hash: h.String(), Path: path, Reason: fmt.Sprintf("content hashes to %s", got)})
		}
	}
	return rep, ctx.Err()
}

// hashOfKey parses "<hh>/<hash>".
func hashOfKey(path string) (sum.Hash, bool) {
	dir, name, ok := strings.Cut(path, "/")
	if !ok || len(name) < 2 || dir != name[:2] {
		return sum.Hash{}, false
	}
	h, err := sum.Parse(name)
	return h, err == nil && h.String() == name
}

// rehash reads the object and returns its hash and size.
func (b *BlobStore) rehash(ctx context.Context, key string) (sum.Hash, int64, error) {
	obj, err := b.client.GetObject(ctx, b.opts.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return sum.Hash{}, 0, fmt.Errorf("s3 blob store: verify %s: %w", key, unavailable(err))
	}
	defer obj.Close()
	hasher := sum.New()
	n, err := io.Copy(hasher, obj)
	if err != nil {
		return sum.Hash{}, n, fmt.Errorf("s3 blob store: verify %s: %w", key, unavailable(err))
	}
	return sum.FromDigest(hasher.Sum(nil)), n, nil
}
