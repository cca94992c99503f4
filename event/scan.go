package event

import (
	"fmt"
	"unicode/utf8"
)

// maxDepth bounds how deeply arrays and objects may nest in any JSON the
// scanner reads (an append's bodies have the lower Limits.BodyDepth). It is
// the limit of github.com/gowebpki/jcs (and of encoding/json), so whatever
// the scanner accepts the canonicalizer accepts too.
const maxDepth = 10000

// scanner walks JSON text that is already known to be valid UTF-8 (every
// entry point checks that first, with firstInvalidUTF8). It always checks
// the grammar, escapes and surrogate pairs. With strict set it also refuses
// duplicate object keys and numbers a double cannot keep (see checkNumber).
// With canon set it notes, in nonCanon, the offset of the first byte that
// is not already in RFC 8785 canonical form (-1 while there is none), so a
// canonical input need not be canonicalised again.
type scanner struct {
	data     []byte
	pos      int
	depth    int
	maxDepth int
	strict   bool
	canon    bool
	nonCanon int

	keys  [][]byte // keys of the open objects, innermost last (strict or canon)
	arena []byte   // decoded keys that held escapes; truncated as objects close
}

func newScanner(data []byte, strict, canon bool) *scanner {
	s := &scanner{data: data, maxDepth: maxDepth, strict: strict, canon: canon, nonCanon: -1}
	if strict || canon {
		s.keys = make([][]byte, 0, 32)
	}
	return s
}

func (s *scanner) errorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// notCanonical records that the input is not canonical at offset at.
func (s *scanner) notCanonical(at int) {
	if s.nonCanon < 0 {
		s.nonCanon = at
	}
}

// skipWS skips JSON whitespace. Canonical JSON has none.
func (s *scanner) skipWS() {
	start := s.pos
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
			continue
		}
		break
	}
	if s.pos != start && s.canon {
		s.notCanonical(start)
	}
}

// unexpected reports what was found at s.pos when want was expected.
func (s *scanner) unexpected(want string) error {
	if s.pos >= len(s.data) {
		return s.errorf("unexpected end of input at byte %d: want %s", s.pos, want)
	}
	c := s.data[s.pos]
	if c >= 0x20 && c < 0x7f {
		return s.errorf("unexpected %q at byte %d: want %s", rune(c), s.pos, want)
	}
	r, _ := utf8.DecodeRune(s.data[s.pos:])
	return s.errorf("unexpected character %U at byte %d: want %s", r, s.pos, want)
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.skipWS()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// end checks that only whitespace is left.
func (s *scanner) end() error {
	s.skipWS()
	if s.pos < len(s.data) {
		return s.errorf("trailing data at byte %d after the JSON value", s.pos)
	}
	return nil
}

// value checks one JSON value starting at s.pos (after whitespace).
func (s *scanner) value() error {
	switch c := s.peek(); {
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == '"':
		_, err := s.str(false)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := s.number()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	default:
		return s.unexpected("a JSON value")
	}
}

func (s *scanner) literal(word string) error {
	at := s.pos
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errorf("invalid literal at byte %d: want %s", at, word)
	}
	s.pos += len(word)
	return nil
}

// enter opens an array or object at s.pos.
func (s *scanner) enter() error {
	s.depth++
	if s.depth > s.maxDepth {
		return s.errorf("arrays and objects nested deeper than the limit of %d levels at byte %d", s.maxDepth, s.pos)
	}
	s.pos++
	return nil
}

func (s *scanner) array() error {
	if err := s.enter(); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return nil
		default:
			return s.unexpected("',' or ']'")
		}
	}
}

func (s *scanner) object() error {
	return s.members(func([]byte, int) error { return s.value() })
}

// members walks the object at s.pos. For each member it checks the key
// (duplicates, order) and calls member with the decoded key and the key's
// offset, with s.pos just after the colon; member must consume the value.
// The key slice stays valid until the object closes.
func (s *scanner) members(member func(key []byte, at int) error) error {
	if s.peek() != '{' {
		return s.unexpected("an object")
	}
	if err := s.enter(); err != nil {
		return err
	}
	base, arenaBase := len(s.keys), len(s.arena)
	defer func() {
		s.keys, s.arena = s.keys[:base], s.arena[:arenaBase]
	}()
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return nil
	}
	kc := keyCheck{base: base, sorted: true}
	for {
		if s.peek() != '"' {
			return s.unexpected("a string key")
		}
		at := s.pos
		key, err := s.str(true)
		if err != nil {
			return err
		}
		if s.strict || s.canon {
			if err := s.checkKey(&kc, key, at); err != nil {
				return err
			}
		}
		if s.peek() != ':' {
			return s.unexpected("':'")
		}
		s.pos++
		if err := member(key, at); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return nil
		default:
			return s.unexpected("',' or '}'")
		}
	}
}

// keyCheck is the state of one open object's key checks.
type keyCheck struct {
	base   int                 // the object's first key in scanner.keys
	sorted bool                // keys so far strictly ascending: no duplicate yet
	set    map[string]struct{} // the keys so far, once unsorted and many
}

// setAfter is how many keys an unsorted object may hold before duplicates
// are looked up in a map rather than by comparing with every key.
const setAfter = 16

// checkKey checks key (at offset at) against the keys already seen in the
// object. While the keys are strictly ascending (as in canonical JSON) a
// duplicate is impossible and only the last key is compared.
func (s *scanner) checkKey(kc *keyCheck, key []byte, at int) error {
	seen := s.keys[kc.base:]
	if n := len(seen); n > 0 {
		c := compareUTF16(seen[n-1], key)
		if c >= 0 && s.canon {
			s.notCanonical(at)
		}
		if s.strict && (c >= 0 || !kc.sorted) {
			kc.sorted = false
			if s.seenKey(kc, seen, key) {
				return s.errorf("duplicate key %s at byte %d", quoteText(key), at)
			}
		}
	}
	s.keys = append(s.keys, key)
	return nil
}

// seenKey reports whether key is among seen, adding it to kc.set if there
// is one (or should be one now).
func (s *scanner) seenKey(kc *keyCheck, seen [][]byte, key []byte) bool {
	if kc.set == nil && len(seen) >= setAfter {
		kc.set = make(map[string]struct{}, 2*len(seen))
		for _, k := range seen {
			kc.set[string(k)] = struct{}{}
		}
	}
	if kc.set != nil {
		if _, dup := kc.set[string(key)]; dup {
			return true
		}
		kc.set[string(key)] = struct{}{}
		return false
	}
	for _, k := range seen {
		if string(k) == string(key) {
			return true
		}
	}
	return false
}

// compareUTF16 compares two UTF-8 strings by their UTF-16 code units, the
// order RFC 8785 sorts object keys in. It differs from byte order only
// where a character above U+FFFF (a surrogate pair, D800–DFFF) meets one in
// U+E000–U+FFFF.
func compareUTF16(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	switch {
	case i == len(a) && i == len(b):
		return 0
	case i == len(a):
		return -1
	case i == len(b):
		return 1
	}
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRune(a[i:])
	rb, _ := utf8.DecodeRune(b[i:])
	if ra >= 0x10000 && rb >= 0x10000 {
		return int(ra - rb) // surrogate pairs keep code point order
	}
	return int(utf16Key(ra) - utf16Key(rb))
}

// utf16Key is the first UTF-16 code unit of r: enough to order r against
// a rune of the basic plane.
func utf16Key(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}
