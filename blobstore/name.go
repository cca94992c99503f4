package blobstore

import "apie/store"

// defaultContentType is stored when a client sends no usable Content-Type.
const defaultContentType = store.DefaultContentType

// checkFilename is store.CheckFilename: every BlobStore keeps the same
// filenames.
func checkFilename(name string) error { return store.CheckFilename(name) }

// contentTypeOf is store.ContentTypeOf: every BlobStore keeps the same
// content types.
func contentTypeOf(ct string) string { return store.ContentTypeOf(ct) }
