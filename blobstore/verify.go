package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// Verify rehashes every blob and reports, in Bad: a blob whose bytes do not
// hash to its name, a blob that is not a regular file, a blob without
// usable metadata or whose metadata records another size, and stray files
// that are not part of the layout. With fixModes it also sets every
// directory to DirMode and every blob, metadata, format and lock file to
// FileMode.
//
// What a crash can leave behind is not reported: upload temp files in
// tmp/, metadata without a blob (a Put or Delete cut short), and the
// temp files of an atomic metadata write (removed once stale).
//
// err is nil even when Bad is not empty: the caller decides. err is
// reserved for I/O failures and a cancelled ctx. Verify takes no lock;
// blobs stored or deleted while it runs may or may not be counted.
func (b *BlobStore) Verify(ctx context.Context, fixModes bool) (store.BlobReport, error) {
	var rep store.BlobReport
	if err := b.usable(ctx); err != nil {
		return rep, fmt.Errorf("verify blobs: %w", err)
	}
	if fixModes {
		if err := b.fixMode(b.dir, b.dirMode); err != nil {
			return rep, fmt.Errorf("verify blobs: %w", err)
		}
	}
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return rep, fmt.Errorf("verify blobs: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		var err error
		switch {
		case name == blobTmpName && e.IsDir():
			if fixModes {
				err = b.fixMode(b.tmp, b.dirMode)
			}
		case (name == blobFormatName || name == blobLockName) && e.Type().IsRegular():
			if fixModes {
				err = b.fixMode(filepath.Join(b.dir, name), b.fileMode)
			}
		case isFanoutName(name) && e.IsDir():
			err = b.verifyFanout(ctx, name, fixModes, &rep)
		case durable.IsTemp(name):
			b.removeIfStale(filepath.Join(b.dir, name))
		default:
			rep.Bad = append(rep.Bad, store.BadBlob{Path: name, Reason: "stray file"})
		}
		if err != nil {
			return rep, fmt.Errorf("verify blobs: %w", err)
		}
	}
	return rep, nil
}

// verifyFanout checks one <hh> directory.
func (b *BlobStore) verifyFanout(ctx context.Context, hh string, fixModes bool, rep *store.BlobReport) error {
	dir := filepath.Join(b.dir, hh)
	if fixModes {
		if err := b.fixMode(dir, b.dirMode); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	blobs := make(map[string]bool)
	for _, e := range entries {
		if name := e.Name(); isHashName(name) && strings.HasPrefix(name, hh) {
			blobs[name] = true
		}
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		rel := path.Join(hh, name)
		switch {
		case blobs[name]:
			if err := b.verifyBlob(ctx, hh, name, fixModes, rep); err != nil {
				return err
			}
		case strings.HasSuffix(name, metaSuffix) && blobs[strings.TrimSuffix(name, metaSuffix)]:
			if fixModes {
				if err := b.fixMode(filepath.Join(dir, name), b.fileMode); err != nil {
					return err
				}
			}
		case strings.HasSuffix(name, metaSuffix) && isHashName(strings.TrimSuffix(name, metaSuffix)) && strings.HasPrefix(name, hh):
			b.log.Info("blob store: metadata without blob (an interrupted put or delete)", "path", rel)
		case durable.IsTemp(name):
			b.removeIfStale(filepath.Join(dir, name))
		default:
			rep.Bad = append(rep.Bad, store.BadBlob{Path: rel, Reason: "stray file"})
		}
	}
	return nil
}

// verifyBlob rehashes one blob and checks its metadata.
func (b *BlobStore) verifyBlob(ctx context.Context, hh, name string, fixModes bool, rep *store.BlobReport) error {
	rel := path.Join(hh, name)
	bad := func(reason string) { rep.Bad = append(rep.Bad, store.BadBlob{Hash: name, Path: rel, Reason: reason}) }
	h, err := sum.Parse(name)
	if err != nil {
		return fmt.Errorf("parse %s: %w", rel, err) // isHashName said it would parse
	}
	full := filepath.Join(b.dir, hh, name)
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // deleted meanwhile
	} else if err != nil {
		return fmt.Errorf("stat %s: %w", full, err)
	}
	if !fi.Mode().IsRegular() {
		bad("not a regular file")
		return nil
	}
	if fixModes {
		if err := b.fixMode(full, b.fileMode); err != nil {
			return err
		}
	}
	got, n, err := b.hashFile(ctx, full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	rep.Blobs++
	rep.Bytes += n
	if got != h {
		bad(fmt.Sprintf("content hashes to %s", got))
	}
	meta, err := b.readMeta(h)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		bad("missing metadata")
	case err != nil:
		bad(fmt.Sprintf("unreadable metadata: %v", err))
	case meta.Size != n:
		bad(fmt.Sprintf("metadata records %d bytes, blob has %d", meta.Size, n))
	}
	return nil
}

// hashFile returns the SHA-256 and length of the file at path, checking ctx
// between buffers.
func (b *BlobStore) hashFile(ctx context.Context, path string) (sum.Hash, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return sum.Hash{}, 0, err
	}
	defer f.Close()
	bufp := b.getBuf()
	defer b.putBuf(bufp)
	hw := sum.New()
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return sum.Hash{}, 0, err
		}
		nr, err := f.Read(*bufp)
		hw.Write((*bufp)[:nr])
		n += int64(nr)
		if err == io.EOF {
			return sum.FromDigest(hw.Sum(nil)), n, nil
		}
		if err != nil {
			return sum.Hash{}, 0, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

// fixMode sets path's permission bits to mode if they differ.
func (b *BlobStore) fixMode(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if fi.Mode().Perm() == mode {
		return nil
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("set mode of %s: %w", path, err)
	}
	b.log.Info("blob store: fixed mode", "path", path, "was", fmt.Sprintf("%#o", fi.Mode().Perm()), "now", fmt.Sprintf("%#o", mode))
	return nil
}

// removeIfStale removes a leftover temp file of durable.WriteFile once it is
// older than the stale threshold (a fresh one may be a write in progress).
func (b *BlobStore) removeIfStale(path string) {
	fi, err := os.Lstat(path)
	if err != nil || time.Since(fi.ModTime()) < b.staleTemp {
		return
	}
	if err := os.Remove(path); err == nil {
		b.log.Info("blob store: removed abandoned temp file", "path", path)
	}
}

// isHashName reports whether name is 64 lowercase hex digits.
func isHashName(name string) bool {
	return len(name) == 2*sum.Size && isLowerHexName(name)
}

// isFanoutName reports whether name is two lowercase hex digits.
func isFanoutName(name string) bool { return len(name) == 2 && isLowerHexName(name) }

func isLowerHexName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
