package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// Open returns the blob with hash h for reading, and its info. The caller
// closes the file. The file holds exactly the bytes that hash to h (Verify
// is what checks that they still do). A missing blob is ErrNotFound. The
// reader is the *os.File itself, so that http.ServeContent, copying it to a
// network connection, uses sendfile(2).
func (b *BlobStore) Open(ctx context.Context, h sum.Hash) (io.ReadSeekCloser, store.BlobInfo, error) {
	if err := b.usable(ctx); err != nil {
		return nil, store.BlobInfo{}, fmt.Errorf("open blob %s: %w", h, err)
	}
	f, err := os.Open(b.blobPath(h))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, store.BlobInfo{}, fmt.Errorf("open blob %s: %w", h, store.ErrNotFound)
	}
	if err != nil {
		return nil, store.BlobInfo{}, fmt.Errorf("open blob %s: %w", h, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, store.BlobInfo{}, fmt.Errorf("open blob %s: %w", h, err)
	}
	info, err := b.info(h, fi)
	if err != nil {
		f.Close()
		return nil, store.BlobInfo{}, fmt.Errorf("open blob %s: %w", h, err)
	}
	return f, info, nil
}

// Stat returns the info of the blob with hash h; store.ErrNotFound if absent.
func (b *BlobStore) Stat(ctx context.Context, h sum.Hash) (store.BlobInfo, error) {
	if err := b.usable(ctx); err != nil {
		return store.BlobInfo{}, fmt.Errorf("stat blob %s: %w", h, err)
	}
	fi, err := os.Lstat(b.blobPath(h))
	if errors.Is(err, fs.ErrNotExist) {
		return store.BlobInfo{}, fmt.Errorf("stat blob %s: %w", h, store.ErrNotFound)
	}
	if err != nil {
		return store.BlobInfo{}, fmt.Errorf("stat blob %s: %w", h, err)
	}
	info, err := b.info(h, fi)
	if err != nil {
		return store.BlobInfo{}, fmt.Errorf("stat blob %s: %w", h, err)
	}
	return info, nil
}

// info combines the blob file's stat with its metadata. Size is always the
// file's. Missing or unreadable metadata is logged and replaced by
// defaults (no filename, application/octet-stream, the file's mtime): the
// bytes are still good, and Verify reports the damage.
func (b *BlobStore) info(h sum.Hash, fi fs.FileInfo) (store.BlobInfo, error) {
	if !fi.Mode().IsRegular() {
		return store.BlobInfo{}, &store.CorruptionError{Path: b.blobPath(h), Offset: -1, Reason: "blob is not a regular file"}
	}
	info, err := b.readMeta(h)
	if err != nil {
		b.log.Warn("blob store: metadata unusable, serving defaults", "hash", h.String(), "err", err)
		info = store.BlobInfo{Hash: h, ContentType: defaultContentType, Created: fi.ModTime().UTC()}
	}
	info.Size = fi.Size()
	return info, nil
}

// Delete removes the blob with hash h and its metadata: the blob first, so
// it is never served without its metadata, then the metadata, then it
// syncs the directory. When Delete returns nil the removal is durable.
// A missing blob is store.ErrNotFound (an orphaned metadata file is removed
// all the same).
func (b *BlobStore) Delete(ctx context.Context, h sum.Hash) error {
	if err := b.usable(ctx); err != nil {
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
	unlock, err := b.lock(ctx)
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
	defer unlock()
	path := b.blobPath(h)
	found := true
	if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
		found = false
	} else if err != nil {
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
	if err := os.Remove(b.metaPath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: metadata: %w", h, err)
	}
	if !found {
		return fmt.Errorf("delete blob %s: %w", h, store.ErrNotFound)
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("delete blob %s: %w", h, err)
	}
	return nil
}

// usable reports store.ErrClosed after Close, or ctx's error.
func (b *BlobStore) usable(ctx context.Context) error {
	if b.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}
