package s3store

import (
	"context"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"apie/sum"
)

// List calls fn with the hash of every blob under the prefix, in key
// order, until fn returns an error (List returns it) or ctx ends. Objects
// not named as blobs are skipped: Verify reports them.
func (b *BlobStore) List(ctx context.Context, fn func(sum.Hash) error) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listing when fn fails
	defer cancel()
	for oi := range b.client.ListObjects(ctx, b.opts.Bucket, minio.ListObjectsOptions{Prefix: b.opts.Prefix, Recursive: true}) {
		if oi.Err != nil {
			return fmt.Errorf("s3 blob store: list: %w", unavailable(oi.Err))
		}
		h, ok := hashOfKey(strings.TrimPrefix(oi.Key, b.opts.Prefix))
		if !ok {
			continue
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return ctx.Err()
}
