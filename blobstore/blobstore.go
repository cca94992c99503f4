package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"

	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// The blob store's names on disk; doc.go describes the layout.
const (
	blobFormat     = "apie-blobstore 1\n"
	blobFormatName = "format"
	blobLockName   = "lock"
	blobTmpName    = "tmp"
	partSuffix     = ".part"
	metaSuffix     = ".meta"

	defaultStaleTemp = time.Hour

	// blobBufSize is the copy buffer of Put and Verify: large enough for
	// few system calls, small enough that memory never tracks blob size.
	blobBufSize = 256 << 10
)

// The modes a store is made with when BlobOptions gives none.
const (
	DefaultFileMode fs.FileMode = 0o440
	DefaultDirMode  fs.FileMode = 0o750
)

// BlobOptions configures OpenBlobStore. Zero values take the defaults.
type BlobOptions struct {
	Dir      string      // the store's directory (contentstore.path); created if absent
	FileMode fs.FileMode // mode of blob and metadata files; default 0440
	DirMode  fs.FileMode // mode of the store's directories; default 0750
	MaxBytes int64       // largest blob Put accepts; 0 = no limit
	Logger   *slog.Logger

	// staleTemp is how long an upload's temp file may go unmodified before
	// OpenBlobStore removes it as abandoned; 0 means one hour. Tests set it.
	staleTemp time.Duration
}

// BlobStore is a content-addressed store of immutable blobs in plain files.
// It is safe for concurrent use by goroutines and by other processes
// sharing the directory: commits and deletes serialize on an flock'd lock
// file, and a blob appears under its hash only when complete and durable.
type BlobStore struct {
	dir       string
	tmp       string
	fileMode  fs.FileMode
	dirMode   fs.FileMode
	maxBytes  int64
	staleTemp time.Duration
	log       *slog.Logger

	sem    chan struct{} // serializes commits within this process
	flock  *flock.Flock  // serializes commits across processes
	bufs   sync.Pool     // *[]byte of blobBufSize
	closed atomic.Bool

	// testWriteErr, set only by tests, runs before each write to an
	// upload's temp file; an error it returns stands in for the write's.
	testWriteErr func() error
}

var _ store.BlobStore = (*BlobStore)(nil)

// OpenBlobStore opens the blob store in opts.Dir, creating the directory,
// its format file and tmp/ if absent. It refuses a directory whose format
// file names another format. It removes upload temp files in tmp/ that have
// not been modified for an hour (abandoned by a crashed or killed process),
// logging each; an upload in progress keeps its file's mtime fresh. Opening
// reads no blob, so it costs the same for an empty store and a full one.
func OpenBlobStore(ctx context.Context, opts BlobOptions) (*BlobStore, error) {
	if opts.Dir == "" {
		return nil, errors.New("open blob store: no directory given")
	}
	b := &BlobStore{
		dir:       opts.Dir,
		tmp:       filepath.Join(opts.Dir, blobTmpName),
		fileMode:  blobModeOr(opts.FileMode, DefaultFileMode).Perm(),
		dirMode:   blobModeOr(opts.DirMode, DefaultDirMode).Perm(),
		maxBytes:  opts.MaxBytes,
		staleTemp: opts.staleTemp,
		log:       opts.Logger,
		sem:       make(chan struct{}, 1),
	}
	if b.staleTemp <= 0 {
		b.staleTemp = defaultStaleTemp
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.bufs.New = func() any { buf := make([]byte, blobBufSize); return &buf }
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", b.dir, err)
	}
	if err := b.ensureDir(b.dir, true); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	if err := b.checkFormat(); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	if err := b.ensureDir(b.tmp, false); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	b.flock = flock.New(filepath.Join(b.dir, blobLockName), flock.SetPermissions(b.fileMode|0o400))
	if err := b.cleanTemp(ctx); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	return b, nil
}

// Close marks the store closed: later calls fail with store.ErrClosed. It waits
// for a commit in progress to finish. Reads already returned stay usable.
func (b *BlobStore) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.sem <- struct{}{}
	defer func() { <-b.sem }()
	if err := b.flock.Close(); err != nil {
		return fmt.Errorf("close blob store %s: %w", b.dir, err)
	}
	return nil
}

func blobModeOr(m, def fs.FileMode) fs.FileMode {
	if m == 0 {
		return def
	}
	return m
}

// blobPath returns where the blob with hash h lives: <dir>/<hh>/<hash>.
func (b *BlobStore) blobPath(h sum.Hash) string {
	s := h.String()
	return filepath.Join(b.dir, s[:2], s)
}

// metaPath returns the path of h's metadata: <dir>/<hh>/<hash>.meta.
func (b *BlobStore) metaPath(h sum.Hash) string { return b.blobPath(h) + metaSuffix }

// ensureDir creates dir with the store's directory mode if it does not
// exist (with its parents when parents is set) and makes the new entry
// durable by syncing the parent. An existing directory is left as it is.
func (b *BlobStore) ensureDir(dir string, parents bool) error {
	mkdir := durable.MakeDir
	if parents {
		mkdir = durable.MakeDirAll
	}
	if err := mkdir(dir, b.dirMode); err != nil {
		return markNoSpace(err)
	}
	return nil
}

// checkFormat writes the format file of a new store, or checks an existing
// one names this format.
func (b *BlobStore) checkFormat() error {
	path := filepath.Join(b.dir, blobFormatName)
	got, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A new store: the fan-out directories first, so that every store
		// with a format file written by this code has them all.
		if err := b.createFanout(); err != nil {
			return err
		}
		if err := durable.WriteFile(path, []byte(blobFormat), b.fileMode); err != nil {
			return fmt.Errorf("write format file: %w", markNoSpace(err))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read format file: %w", err)
	}
	if !bytes.Equal(got, []byte(blobFormat)) {
		return fmt.Errorf("%s: unsupported format %q, want %q", path, got, blobFormat)
	}
	return nil
}

// createFanout creates the 256 <hh>/ directories of a new store (those
// another process created meanwhile are left as they are) and syncs the
// store's directory once, so that a Put never creates a directory. Stores
// made before this was done get a missing <hh>/ from the Put that first
// needs it.
func (b *BlobStore) createFanout() error {
	for i := range 256 {
		dir := filepath.Join(b.dir, fmt.Sprintf("%02x", i))
		if err := os.Mkdir(dir, b.dirMode); errors.Is(err, fs.ErrExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("create directory: %w", markNoSpace(err))
		}
		if err := os.Chmod(dir, b.dirMode); err != nil { // not subject to the umask
			return fmt.Errorf("set mode of directory: %w", err)
		}
	}
	if err := durable.SyncDir(b.dir); err != nil {
		return fmt.Errorf("after creating the fan-out directories: %w", err)
	}
	return nil
}

// cleanTemp removes upload temp files (tmp/*.part) whose mtime is older
// than the stale threshold, logging each. Failing to remove one is logged
// and not fatal: the store works with litter in tmp/.
func (b *BlobStore) cleanTemp(ctx context.Context) error {
	entries, err := os.ReadDir(b.tmp)
	if err != nil {
		return fmt.Errorf("list %s: %w", b.tmp, err)
	}
	now := time.Now()
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("clean %s: %w", b.tmp, err)
		}
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), partSuffix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		age := now.Sub(fi.ModTime())
		if age < b.staleTemp {
			continue
		}
		path := filepath.Join(b.tmp, e.Name())
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.log.Warn("blob store: cannot remove abandoned upload", "path", path, "err", err)
			continue
		}
		b.log.Info("blob store: removed abandoned upload", "path", path, "size", fi.Size(), "age", age.Round(time.Second).String())
	}
	return nil
}

// lock serializes a commit or delete with every other in this process and
// in other processes. The returned function releases it.
func (b *BlobStore) lock(ctx context.Context) (unlock func(), err error) {
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.closed.Load() {
		<-b.sem
		return nil, store.ErrClosed
	}
	ok, err := b.flock.TryLockContext(ctx, time.Millisecond)
	if err == nil && !ok {
		err = errors.New("lock not acquired")
	}
	if err != nil {
		<-b.sem
		return nil, fmt.Errorf("lock %s: %w", b.flock.Path(), err)
	}
	return func() {
		if err := b.flock.Unlock(); err != nil {
			b.log.Error("blob store: unlock failed", "path", b.flock.Path(), "err", err)
		}
		<-b.sem
	}, nil
}

// markNoSpace adds store.ErrNoSpace to err's chain when err means the disk or quota
// is full, so callers can test errors.Is(err, store.ErrNoSpace).
func markNoSpace(err error) error {
	if err != nil && durable.IsNoSpace(err) && !errors.Is(err, store.ErrNoSpace) {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}

func (b *BlobStore) getBuf() *[]byte  { return b.bufs.Get().(*[]byte) }
func (b *BlobStore) putBuf(p *[]byte) { b.bufs.Put(p) }
