package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"apie/sum"
)

// List calls fn with the hash of every stored blob, in hash order, until
// fn returns an error (List returns it) or ctx ends. Files that are not
// blobs (metadata, strays) are skipped: Verify reports strays.
func (b *BlobStore) List(ctx context.Context, fn func(sum.Hash) error) error {
	dirs, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || !isFanoutName(d.Name()) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(b.dir, d.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		for _, f := range files {
			h, err := sum.Parse(f.Name())
			if err != nil || h.String() != f.Name() || f.Name()[:2] != d.Name() || !f.Type().IsRegular() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(h); err != nil {
				return err
			}
		}
	}
	return nil
}
