package blobstore

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"apie/store"
	"apie/sum"
)

// blobMeta is the JSON kept in <hh>/<hash>.meta; doc.go describes it.
type blobMeta struct {
	ContentType string `json:"contentType"`
	Filename    string `json:"filename"`
	Size        int64  `json:"size"`
	Created     string `json:"created"` // RFC 3339, UTC
}

// encodeMeta returns the bytes of info's metadata file: one JSON object
// and "\n".
func encodeMeta(info store.BlobInfo) ([]byte, error) {
	data, err := json.Marshal(blobMeta{
		ContentType: info.ContentType,
		Filename:    info.Filename,
		Size:        info.Size,
		Created:     info.Created.UTC().Format(time.RFC3339),
	})
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return append(data, '\n'), nil
}

// readMeta reads h's metadata file. Size is the size it records, which the
// caller replaces with the file's real size.
func (b *BlobStore) readMeta(h sum.Hash) (store.BlobInfo, error) {
	path := b.metaPath(h)
	data, err := os.ReadFile(path)
	if err != nil {
		return store.BlobInfo{}, fmt.Errorf("read metadata: %w", err)
	}
	var m blobMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return store.BlobInfo{}, fmt.Errorf("decode metadata %s: %w", path, err)
	}
	created, err := time.Parse(time.RFC3339, m.Created)
	if err != nil {
		return store.BlobInfo{}, fmt.Errorf("decode metadata %s: created: %w", path, err)
	}
	if err := checkFilename(m.Filename); err != nil {
		return store.BlobInfo{}, fmt.Errorf("decode metadata %s: %w", path, err)
	}
	return store.BlobInfo{
		Hash:        h,
		Size:        m.Size,
		ContentType: contentTypeOf(m.ContentType),
		Filename:    m.Filename,
		Created:     created.UTC(),
	}, nil
}
