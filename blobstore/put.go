package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// Put stores r's bytes and returns their info and whether this call
// created the blob.
//
// meta supplies ContentType and Filename; the other fields are ignored.
// Filename must be a base name (see checkFilename), else the error wraps
// store.ErrBadName; a ContentType that mime.ParseMediaType rejects is stored as
// "application/octet-stream". When want is not nil the bytes must hash to
// *want, else the error wraps store.ErrHashMismatch.
//
// The bytes are streamed into a temp file while hashed, never held whole in
// memory. More than MaxBytes fails with store.ErrTooLarge; a full disk with
// store.ErrNoSpace; a cancelled ctx stops the copy. On any error nothing is kept.
//
// When Put returns nil the blob and its metadata are durable, and only then
// is the blob visible under its hash. Put is idempotent: storing bytes
// already stored succeeds with created == false, returns the stored info
// and changes nothing (the first upload's metadata is kept). Of concurrent
// Puts of the same bytes, in this process or others, exactly one reports
// created == true.
func (b *BlobStore) Put(ctx context.Context, r io.Reader, meta store.BlobInfo, want *sum.Hash) (store.BlobInfo, bool, error) {
	if err := checkFilename(meta.Filename); err != nil {
		return store.BlobInfo{}, false, fmt.Errorf("put blob: %w", err)
	}
	if b.closed.Load() {
		return store.BlobInfo{}, false, fmt.Errorf("put blob: %w", store.ErrClosed)
	}
	f, h, size, err := b.spool(ctx, r)
	if err != nil {
		return store.BlobInfo{}, false, fmt.Errorf("put blob: %w", err)
	}
	up := &upload{data: f.Name()}
	// Whatever happens next, the temp names go: after a commit the blob
	// lives on under its hash (os.Link made a second name) and the
	// metadata was renamed away.
	defer up.remove()
	if want != nil && *want != h {
		f.Close()
		return store.BlobInfo{}, false, fmt.Errorf("put blob: %w: expected %s, got %s", store.ErrHashMismatch, *want, h)
	}
	up.info = store.BlobInfo{
		Hash:        h,
		Size:        size,
		ContentType: contentTypeOf(meta.ContentType),
		Filename:    meta.Filename,
		Created:     time.Now().UTC().Truncate(time.Second),
	}
	if err := b.seal(f, up); err != nil {
		return store.BlobInfo{}, false, fmt.Errorf("put blob %s: %w", h, err)
	}
	stored, created, err := b.commit(ctx, up)
	if err != nil {
		return store.BlobInfo{}, false, fmt.Errorf("put blob %s: %w", h, err)
	}
	return stored, created, nil
}

// upload is a body spooled into tmp/, and then its metadata beside it.
type upload struct {
	info store.BlobInfo
	data string // tmp/<random>.part: the bytes
	meta string // tmp/<random>.meta.part: the metadata; "" once renamed
}

// remove removes the upload's temp names that are left.
func (u *upload) remove() {
	os.Remove(u.data)
	if u.meta != "" {
		os.Remove(u.meta)
	}
}

// seal writes up's metadata into a second temp file in tmp/, then fsyncs
// and closes both it and f, the spooled bytes; f is closed whatever
// happens. The metadata's writeback starts before the first fsync, so on a
// journaling file system one commit usually makes both files durable and
// the second fsync finds nothing left to commit.
func (b *BlobStore) seal(f *os.File, up *upload) error {
	m, err := b.writeMetaTemp(up)
	if err != nil {
		f.Close()
		return err
	}
	errs := []error{syncClose(f), syncClose(m)}
	return errors.Join(errs...)
}

// writeMetaTemp writes up's metadata into a new temp file in tmp/, records
// its name in up.meta and starts its writeback. The file is left open.
func (b *BlobStore) writeMetaTemp(up *upload) (*os.File, error) {
	data, err := encodeMeta(up.info)
	if err != nil {
		return nil, err
	}
	m, err := b.createTemp("*" + metaSuffix + partSuffix)
	if err != nil {
		return nil, err
	}
	up.meta = m.Name()
	if _, err := m.Write(data); err != nil {
		m.Close()
		return nil, fmt.Errorf("write %s: %w", m.Name(), markNoSpace(err))
	}
	startWriteback(m, 0, int64(len(data)))
	return m, nil
}

// syncClose fsyncs and closes f; f is closed whatever happens.
func syncClose(f *os.File) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", f.Name(), markNoSpace(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), markNoSpace(err))
	}
	return nil
}

// commit makes the sealed upload visible under its hash, under the store
// lock. If the blob is already there it reports the stored info and
// created == false. Otherwise it renames the metadata into <hh>/, links
// the bytes to <hh>/<hash> — in that order, so the blob does not appear
// before its metadata — and fsyncs <hh>/ once, which makes both names
// durable. Either way <hh>/ is synced before commit returns, so nothing it
// reports can be lost to a crash.
func (b *BlobStore) commit(ctx context.Context, up *upload) (store.BlobInfo, bool, error) {
	unlock, err := b.lock(ctx)
	if err != nil {
		return store.BlobInfo{}, false, err
	}
	defer unlock()

	final := b.blobPath(up.info.Hash)
	dir := filepath.Dir(final)
	stored, created := up.info, true
	if fi, err := os.Lstat(final); err == nil {
		stored, err = b.existing(up, fi)
		if err != nil {
			return store.BlobInfo{}, false, err
		}
		created = false
	} else if !errors.Is(err, fs.ErrNotExist) {
		return store.BlobInfo{}, false, fmt.Errorf("stat %s: %w", final, err)
	} else {
		if err := b.placeMeta(up); err != nil {
			return store.BlobInfo{}, false, err
		}
		if err := linkOrRename(up.data, final); errors.Is(err, fs.ErrExist) {
			// Only a writer that ignores the lock gets here; its blob
			// wins, with the metadata just placed.
			created = false
		} else if err != nil {
			os.Remove(b.metaPath(up.info.Hash)) // metadata without a blob is ignored; tidy it all the same
			return store.BlobInfo{}, false, fmt.Errorf("move blob into place: %w", markNoSpace(err))
		}
	}
	if err := durable.SyncDir(dir); err != nil {
		return store.BlobInfo{}, false, fmt.Errorf("after storing %s: %w", final, err)
	}
	return stored, created, nil
}

// placeMeta renames the upload's metadata temp file to <hh>/<hash>.meta,
// replacing metadata left without its blob by an interrupted Put or
// Delete. A store made before the fan-out directories were created up
// front may lack <hh>/: it is created then (and its parent synced).
func (b *BlobStore) placeMeta(up *upload) error {
	path := b.metaPath(up.info.Hash)
	err := os.Rename(up.meta, path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := b.ensureDir(filepath.Dir(path), false); err != nil {
			return err
		}
		err = os.Rename(up.meta, path)
	}
	if err != nil {
		return fmt.Errorf("move metadata into place: %w", markNoSpace(err))
	}
	up.meta = ""
	return nil
}

// existing returns the stored info of a blob that is already present. If
// its metadata is missing or unreadable (damage, or a crash that kept the
// blob's name and lost its metadata's), the upload's metadata takes its
// place.
func (b *BlobStore) existing(up *upload, fi fs.FileInfo) (store.BlobInfo, error) {
	h := up.info.Hash
	if !fi.Mode().IsRegular() {
		return store.BlobInfo{}, &store.CorruptionError{Path: b.blobPath(h), Offset: -1, Reason: "blob is not a regular file"}
	}
	stored, err := b.readMeta(h)
	if err != nil {
		b.log.Warn("blob store: replacing unreadable metadata", "hash", h.String(), "err", err)
		if err := b.placeMeta(up); err != nil {
			return store.BlobInfo{}, err
		}
		info := up.info
		info.Size = fi.Size()
		return info, nil
	}
	stored.Size = fi.Size()
	return stored, nil
}

// linkOrRename gives the file at oldpath the name newpath without ever
// replacing an existing newpath when the file system has hard links: it
// fails with an error wrapping fs.ErrExist instead. Where hard links are
// not supported it falls back to rename, which the store lock makes safe.
func linkOrRename(oldpath, newpath string) error {
	err := os.Link(oldpath, newpath)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EMLINK) {
		return os.Rename(oldpath, newpath)
	}
	return err
}
