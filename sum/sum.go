// Package sum holds apie's one hash type and the one function that computes
// it: lowercase-hex SHA-256, used for event hashes, body hashes and blob names.
//
// Every SHA-256 in apie goes through Of or New, so the implementation behind
// them can be swapped in one place (see BENCHMARKS.md for why it is the
// standard library's).
package sum

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
)

// Size is the length of a Hash in bytes.
const Size = sha256.Size

// Hash is a SHA-256 digest. It is comparable and usable as a map key.
type Hash [Size]byte

// Genesis is the SHA-256 of the empty string: the prevHash of the first
// event, and the If-Match value meaning "only if the log is empty".
var Genesis = Of(nil)

// ErrMalformed is returned by Parse for text that is not 64 hex digits.
var ErrMalformed = errors.New("malformed hash: want 64 hex digits")

// Of returns the SHA-256 of b.
func Of(b []byte) Hash { return sha256.Sum256(b) }

// New returns a streaming SHA-256; its Sum fills a Hash via FromDigest.
func New() hash.Hash { return sha256.New() }

// FromDigest converts the output of New().Sum(nil) to a Hash.
func FromDigest(d []byte) Hash {
	var h Hash
	copy(h[:], d)
	return h
}

// String returns the hash as 64 lowercase hex digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero value (not a real digest).
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes the hash as lowercase hex.
func (h Hash) MarshalText() ([]byte, error) {
	b := make([]byte, 2*Size)
	hex.Encode(b, h[:])
	return b, nil
}

// UnmarshalText decodes 64 hex digits (either case).
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// Parse decodes 64 hex digits. Upper-case digits are accepted and the
// result prints in lower case.
func Parse(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*Size {
		return h, fmt.Errorf("%w (got %d characters)", ErrMalformed, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, ErrMalformed
	}
	return h, nil
}
