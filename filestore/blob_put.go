package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"apie/sum"
)

// Put stores r's bytes and returns their info and whether this call
// created the blob.
//
// meta supplies ContentType and Filename; the other fields are ignored.
// Filename must be a base name (see checkFilename), else the error wraps
// ErrBadName; a ContentType that mime.ParseMediaType rejects is stored as
// "application/octet-stream". When want is not nil the bytes must hash to
// *want, else the error wraps ErrHashMismatch.
//
// The bytes are streamed into a temp file while hashed, never held whole in
// memory. More than MaxBytes fails with ErrTooLarge; a full disk with
// ErrNoSpace; a cancelled ctx stops the copy. On any error nothing is kept.
//
// When Put returns nil the blob and its metadata are durable, and only then
// is the blob visible under its hash. Put is idempotent: storing bytes
// already stored succeeds with created == false, returns the stored info
// and changes nothing (the first upload's metadata is kept). Of concurrent
// Puts of the same bytes, in this process or others, exactly one reports
// created == true.
func (b *BlobStore) Put(ctx context.Context, r io.Reader, meta BlobInfo, want *sum.Hash) (BlobInfo, bool, error) {
	if err := checkFilename(meta.Filename); err != nil {
		return BlobInfo{}, false, fmt.Errorf("put blob: %w", err)
	}
	if b.closed.Load() {
		return BlobInfo{}, false, fmt.Errorf("put blob: %w", ErrClosed)
	}
	tmp, h, size, err := b.spool(ctx, r)
	if err != nil {
		return BlobInfo{}, false, fmt.Errorf("put blob: %w", err)
	}
	// Whatever happens next, the temp name goes: after a commit the blob
	// lives on under its hash (os.Link made a second name).
	defer os.Remove(tmp)
	if want != nil && *want != h {
		return BlobInfo{}, false, fmt.Errorf("put blob: %w: expected %s, got %s", ErrHashMismatch, *want, h)
	}
	info := BlobInfo{
		Hash:        h,
		Size:        size,
		ContentType: contentTypeOf(meta.ContentType),
		Filename:    meta.Filename,
		Created:     time.Now().UTC().Truncate(time.Second),
	}
	stored, created, err := b.commit(ctx, tmp, info)
	if err != nil {
		return BlobInfo{}, false, fmt.Errorf("put blob %s: %w", h, err)
	}
	return stored, created, nil
}

// spool copies r into a new temp file in tmp/ while hashing it, then
// fsyncs, sets the file mode and closes it. On error the temp file is gone.
func (b *BlobStore) spool(ctx context.Context, r io.Reader) (path string, h sum.Hash, n int64, err error) {
	f, err := os.CreateTemp(b.tmp, "*"+partSuffix)
	if err != nil {
		return "", h, 0, fmt.Errorf("create temp file: %w", markNoSpace(err))
	}
	name := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(name)
		}
	}()
	bufp := b.getBuf()
	defer b.putBuf(bufp)
	buf := *bufp
	hw := sum.New()
	for {
		if err := ctx.Err(); err != nil {
			return "", h, 0, err
		}
		nr, rerr := r.Read(buf)
		if nr > 0 {
			n += int64(nr)
			if b.maxBytes > 0 && n > b.maxBytes {
				return "", h, 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, b.maxBytes)
			}
			hw.Write(buf[:nr])
			if err := b.writeTemp(f, buf[:nr]); err != nil {
				return "", h, 0, fmt.Errorf("write %s: %w", name, markNoSpace(err))
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", h, 0, fmt.Errorf("read body: %w", rerr)
		}
	}
	if err := f.Sync(); err != nil {
		return "", h, 0, fmt.Errorf("sync %s: %w", name, markNoSpace(err))
	}
	if err := f.Chmod(b.fileMode); err != nil {
		return "", h, 0, fmt.Errorf("set mode of %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", h, 0, fmt.Errorf("close %s: %w", name, markNoSpace(err))
	}
	return name, sum.FromDigest(hw.Sum(nil)), n, nil
}

// writeTemp writes p to an upload's temp file.
func (b *BlobStore) writeTemp(f *os.File, p []byte) error {
	if b.testWriteErr != nil {
		if err := b.testWriteErr(); err != nil {
			return &fs.PathError{Op: "write", Path: f.Name(), Err: err}
		}
	}
	_, err := f.Write(p)
	return err
}

// commit makes the complete, synced temp file visible under info.Hash,
// under the store lock: if the blob is already there it reports the stored
// info and created == false; otherwise it writes the metadata (atomically
// and durably), links the temp file to its final name and syncs the
// directory.
func (b *BlobStore) commit(ctx context.Context, tmp string, info BlobInfo) (BlobInfo, bool, error) {
	unlock, err := b.lock(ctx)
	if err != nil {
		return BlobInfo{}, false, err
	}
	defer unlock()

	final := b.blobPath(info.Hash)
	if fi, err := os.Lstat(final); err == nil {
		return b.existing(info, fi)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return BlobInfo{}, false, fmt.Errorf("stat %s: %w", final, err)
	}
	dir := filepath.Dir(final)
	if err := b.ensureDir(dir, false); err != nil {
		return BlobInfo{}, false, err
	}
	if err := b.writeMeta(info); err != nil {
		return BlobInfo{}, false, err
	}
	if err := linkOrRename(tmp, final); errors.Is(err, fs.ErrExist) {
		// Only a writer that ignores the lock gets here; its blob wins.
		fi, err := os.Lstat(final)
		if err != nil {
			return BlobInfo{}, false, fmt.Errorf("stat %s: %w", final, err)
		}
		return b.existing(info, fi)
	} else if err != nil {
		return BlobInfo{}, false, fmt.Errorf("move blob into place: %w", markNoSpace(err))
	}
	if err := syncDir(dir); err != nil {
		return BlobInfo{}, false, fmt.Errorf("after storing %s: %w", final, err)
	}
	return info, true, nil
}

// existing returns the stored info of a blob that is already present. If
// its metadata is missing or unreadable (damage, or a store written by
// something else), it writes the new upload's metadata in its place.
func (b *BlobStore) existing(info BlobInfo, fi fs.FileInfo) (BlobInfo, bool, error) {
	if !fi.Mode().IsRegular() {
		return BlobInfo{}, false, &CorruptionError{Path: b.blobPath(info.Hash), Offset: -1, Reason: "blob is not a regular file"}
	}
	stored, err := b.readMeta(info.Hash)
	if err != nil {
		b.log.Warn("blob store: replacing unreadable metadata", "hash", info.Hash.String(), "err", err)
		info.Size = fi.Size()
		if err := b.writeMeta(info); err != nil {
			return BlobInfo{}, false, err
		}
		return info, false, nil
	}
	stored.Size = fi.Size()
	return stored, false, nil
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

// blobMeta is the JSON kept in <hh>/<hash>.meta.
type blobMeta struct {
	ContentType string `json:"contentType"`
	Filename    string `json:"filename"`
	Size        int64  `json:"size"`
	Created     string `json:"created"` // RFC 3339, UTC
}

// writeMeta writes info's metadata file atomically and durably.
func (b *BlobStore) writeMeta(info BlobInfo) error {
	data, err := json.Marshal(blobMeta{
		ContentType: info.ContentType,
		Filename:    info.Filename,
		Size:        info.Size,
		Created:     info.Created.UTC().Format(time.RFC3339),
	})
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	data = append(data, '\n')
	if err := writeFileAtomic(b.metaPath(info.Hash), data, b.fileMode); err != nil {
		return fmt.Errorf("write metadata: %w", markNoSpace(err))
	}
	return nil
}

// readMeta reads h's metadata file. Size is the size it records, which the
// caller replaces with the file's real size.
func (b *BlobStore) readMeta(h sum.Hash) (BlobInfo, error) {
	path := b.metaPath(h)
	data, err := os.ReadFile(path)
	if err != nil {
		return BlobInfo{}, fmt.Errorf("read metadata: %w", err)
	}
	var m blobMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return BlobInfo{}, fmt.Errorf("decode metadata %s: %w", path, err)
	}
	created, err := time.Parse(time.RFC3339, m.Created)
	if err != nil {
		return BlobInfo{}, fmt.Errorf("decode metadata %s: created: %w", path, err)
	}
	if err := checkFilename(m.Filename); err != nil {
		return BlobInfo{}, fmt.Errorf("decode metadata %s: %w", path, err)
	}
	return BlobInfo{
		Hash:        h,
		Size:        m.Size,
		ContentType: contentTypeOf(m.ContentType),
		Filename:    m.Filename,
		Created:     created.UTC(),
	}, nil
}
