package store

import (
	"fmt"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxContentTypeBytes bounds a stored content type; a longer one is replaced
// by DefaultContentType.
const MaxContentTypeBytes = 255

// DefaultContentType is stored when a client sends no usable Content-Type.
const DefaultContentType = "application/octet-stream"

// CheckFilename returns nil if name may be kept as a blob's filename, else
// an error wrapping ErrBadName that says why. The empty string (no filename)
// is accepted. A filename is a base name: valid UTF-8, at most 255 bytes,
// without '/', NUL or any other control character, and not "." or "..".
// It is served back in Content-Disposition, so it must not be able to name a
// path or break a header.
func CheckFilename(name string) error {
	switch {
	case name == "":
		return nil
	case len(name) > MaxFilenameBytes:
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrBadName, len(name), MaxFilenameBytes)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrBadName, name)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q is not a file name", ErrBadName, name)
	}
	for i, r := range name {
		switch {
		case r == '/':
			return fmt.Errorf("%w: %q contains '/' at byte %d", ErrBadName, name, i)
		case unicode.IsControl(r): // includes NUL, CR, LF, DEL and C1 controls
			return fmt.Errorf("%w: %q contains control character %U at byte %d", ErrBadName, name, r, i)
		}
	}
	return nil
}

// ContentTypeOf returns the content type to store for what a client sent:
// the value itself (trimmed of surrounding spaces) when mime.ParseMediaType
// accepts it as type/subtype and it is printable ASCII of at most 255 bytes,
// else
// "application/octet-stream". It never fails: a bad header is not worth
// refusing an upload over.
func ContentTypeOf(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" || len(ct) > MaxContentTypeBytes {
		return DefaultContentType
	}
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c < 0x20 || c > 0x7e {
			return DefaultContentType
		}
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return DefaultContentType
	}
	if typ, sub, ok := strings.Cut(mt, "/"); !ok || typ == "" || sub == "" {
		return DefaultContentType // ParseMediaType accepts a bare "text"
	}
	return ct
}
