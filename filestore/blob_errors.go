package filestore

import "errors"

// ErrBadName is returned (wrapped) by BlobStore.Put when the filename given
// for a blob is not an acceptable base name. The HTTP layer answers 400.
var ErrBadName = errors.New("bad filename")
