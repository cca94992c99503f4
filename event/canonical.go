package event

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// CanonicalBody validates raw JSON strictly and returns its RFC 8785 (JCS)
// bytes, which are the body's value and nothing else: key order, number
// spelling, escapes and whitespace may change, no value may. The result
// never shares memory with raw.
//
// Refused, with an *InputError saying what and at which byte: empty input;
// invalid UTF-8 anywhere (checked before anything is decoded: Go's
// encoding/json would silently put U+FFFD in its place); syntax errors;
// trailing data; duplicate object keys at any depth; lone surrogate
// escapes; nesting deeper than 10,000; and numbers a double cannot keep
// (see checkNumber: 1e400, 1e-400, 9007199254740993). As JCS says, -0
// becomes 0, 1.0 becomes 1 and 1e21 becomes 1e+21.
func CanonicalBody(raw []byte) ([]byte, error) {
	if err := checkUTF8(raw); err != nil {
		return nil, err
	}
	s := newScanner(raw, true, true)
	if s.skipWS(); s.pos == len(raw) {
		return nil, &InputError{Msg: "empty input: want a JSON value"}
	}
	start := s.pos
	if err := s.value(); err != nil {
		return nil, err
	}
	end := s.pos
	if err := s.end(); err != nil {
		return nil, err
	}
	return canonicalize(raw[start:end], s.nonCanon < 0)
}

// canonicalize returns the JCS form of a JSON value the scanner has
// accepted; canonical says the scanner found it canonical already, so it
// is only copied.
func canonicalize(value []byte, canonical bool) ([]byte, error) {
	if canonical {
		return bytes.Clone(value), nil
	}
	out, err := jcs.Transform(value)
	if err != nil {
		// The scanner accepts nothing the canonicalizer refuses; should it
		// happen, the body is refused rather than stored uncanonical.
		return nil, &InputError{Msg: "cannot canonicalise: " + err.Error()}
	}
	return out, nil
}

// checkUTF8 refuses b unless it is valid UTF-8, naming the first bad byte.
func checkUTF8(b []byte) error {
	if utf8.Valid(b) {
		return nil
	}
	return &InputError{Msg: "invalid UTF-8 at byte " + strconv.Itoa(firstInvalidUTF8(b))}
}

// firstInvalidUTF8 returns the offset of the first byte of b that does
// not begin a valid UTF-8 sequence, or -1.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
