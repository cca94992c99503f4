package event

import (
	"strconv"
	"strings"
)

// Streams: the name rule, and the two request-only and stored members an
// event of a stream has.

// Stream name limits (see the README, Streams).
const (
	MaxStreamBytes    = 256
	MaxStreamSegments = 8
	MaxSegmentBytes   = 64
)

// CheckStream enforces the stream name rule: a leading '/', then 1 to 8
// segments separated by '/', each 1–64 characters of [A-Za-z0-9._~-] and
// neither "." nor "..", at most 256 bytes in all. The error is an
// *InputError saying what is wrong and where.
func CheckStream(name string) error {
	bad := func(why string) error {
		return &InputError{Msg: "stream " + quoteText([]byte(name)) + " " + why}
	}
	switch {
	case name == "":
		return bad("is empty: a stream is a path like /orders/42")
	case len(name) > MaxStreamBytes:
		return bad("is " + strconv.Itoa(len(name)) + " bytes, over the limit of " + strconv.Itoa(MaxStreamBytes))
	case name[0] != '/':
		return bad("must start with '/' (like /orders/42)")
	case name == "/":
		return bad("has no segment: name at least one, like /orders")
	case strings.HasSuffix(name, "/"):
		return bad("must not end with '/'")
	}
	segs := strings.Split(name[1:], "/")
	if len(segs) > MaxStreamSegments {
		return bad("has " + strconv.Itoa(len(segs)) + " segments, over the limit of " + strconv.Itoa(MaxStreamSegments))
	}
	for i, seg := range segs {
		n := strconv.Itoa(i + 1)
		switch {
		case seg == "":
			return bad("has an empty segment " + n + " ('//')")
		case seg == "." || seg == "..":
			return bad("has the segment " + strconv.Quote(seg) + ", which is not allowed")
		case len(seg) > MaxSegmentBytes:
			return bad("has segment " + n + " of " + strconv.Itoa(len(seg)) + " characters, over the limit of " + strconv.Itoa(MaxSegmentBytes))
		}
		for j := 0; j < len(seg); j++ {
			if !streamChar(seg[j]) {
				return bad("has the character " + strconv.QuoteRune(rune(seg[j])) + " in segment " + n +
					": use only A-Z a-z 0-9 . _ ~ -")
			}
		}
	}
	return nil
}

// streamChar reports whether c may appear in a stream segment.
func streamChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '~' || c == '-'
}

// InStream reports whether stream name lies in the stream prefix or below
// it: /orders holds /orders, /orders/42 and /orders/42/lines, never
// /orders2.
func InStream(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	return len(name) == len(prefix) || name[len(prefix)] == '/'
}

// expectedVersion reads the expectedVersion member's value at s.pos: a
// whole number from 0 to 2^53.
func (p *appendParser) expectedVersion() (uint64, error) {
	s := p.s
	at := s.pos
	bad := &InputError{Msg: "expectedVersion at byte " + strconv.Itoa(at) + " must be a whole number from 0 to 2^53"}
	if c := s.peek(); c < '0' || c > '9' {
		return 0, bad
	}
	lit, err := s.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(lit), 10, 64)
	if err != nil || v > exact53 {
		return 0, bad
	}
	return v, nil
}

// streamSize is what the stream members add to an event's canonical
// encoding: ,"stream":"…","streamSeq":N with N of up to 16 digits.
func streamSize(stream string) int {
	if stream == "" {
		return 0
	}
	return len(`,"stream":,"streamSeq":`) + quotedLen(stream) + 16
}
