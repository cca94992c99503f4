package event

import (
	"unicode/utf8"
)

// str checks the string at s.pos (its opening quote). With decode set it
// returns the string's value: a slice of the input when it holds no
// escape, else a slice of s.arena, valid until the innermost open object
// closes. Refused: raw control characters, unknown escapes, and lone
// surrogates (a \uD800–\uDBFF escape not followed by a \uDC00–\uDFFF one,
// or a \uDC00–\uDFFF escape on its own), which no UTF-8 text can hold.
func (s *scanner) str(decode bool) ([]byte, error) {
	s.pos++ // the opening quote
	start := s.pos
	i := start
	for i < len(s.data) {
		c := s.data[i]
		if c == '"' {
			s.pos = i + 1
			return s.data[start:i], nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	var out []byte
	arenaStart := len(s.arena)
	if decode {
		s.arena = append(s.arena, s.data[start:i]...)
	}
	s.pos = i
	for {
		if s.pos >= len(s.data) {
			return nil, s.errorf("unterminated string starting at byte %d", start-1)
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			if decode {
				out = s.arena[arenaStart:len(s.arena):len(s.arena)]
			}
			return out, nil
		case c < 0x20:
			return nil, s.errorf("unescaped control character %U in a string at byte %d", rune(c), s.pos)
		case c == '\\':
			r, err := s.escape()
			if err != nil {
				return nil, err
			}
			if decode {
				s.arena = utf8.AppendRune(s.arena, r)
			}
		default:
			j := s.pos + 1
			for j < len(s.data) && s.data[j] >= 0x20 && s.data[j] != '"' && s.data[j] != '\\' {
				j++
			}
			if decode {
				s.arena = append(s.arena, s.data[s.pos:j]...)
			}
			s.pos = j
		}
	}
}

// escape reads one escape sequence at s.pos (its backslash) and returns
// the rune it stands for.
func (s *scanner) escape() (rune, error) {
	at := s.pos
	if s.pos+1 >= len(s.data) {
		return 0, s.errorf("unterminated escape at byte %d", at)
	}
	c := s.data[s.pos+1]
	s.pos += 2
	switch c {
	case '"', '\\':
		return rune(c), nil
	case '/':
		if s.canon {
			s.notCanonical(at) // JCS writes '/' unescaped
		}
		return '/', nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
	default:
		return 0, s.errorf("invalid escape %s at byte %d", quoteText(s.data[at:s.pos]), at)
	}
	r, err := s.hex4(at)
	if err != nil {
		return 0, err
	}
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		return 0, s.errorf(`lone surrogate \u%04x at byte %d`, r, at)
	case r >= 0xD800 && r <= 0xDBFF:
		if s.pos+1 >= len(s.data) || s.data[s.pos] != '\\' || s.data[s.pos+1] != 'u' {
			return 0, s.errorf(`lone surrogate \u%04x at byte %d`, r, at)
		}
		s.pos += 2
		lo, err := s.hex4(s.pos - 2)
		if err != nil {
			return 0, err
		}
		if lo < 0xDC00 || lo > 0xDFFF {
			return 0, s.errorf(`lone surrogate \u%04x at byte %d`, r, at)
		}
		if s.canon {
			s.notCanonical(at) // JCS writes the character itself
		}
		return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), nil
	}
	if s.canon && !canonicalUEscape(r, s.data[s.pos-4:s.pos]) {
		s.notCanonical(at)
	}
	return r, nil
}

// hex4 reads the four hex digits of a \u escape that began at offset at.
func (s *scanner) hex4(at int) (rune, error) {
	if len(s.data)-s.pos < 4 {
		return 0, s.errorf(`invalid escape at byte %d: \u needs four hex digits`, at)
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, s.errorf(`invalid escape at byte %d: \u needs four hex digits`, at)
		}
		r = r<<4 | rune(d)
	}
	s.pos += 4
	return r, nil
}

// canonicalUEscape reports whether \u followed by digits is how RFC 8785
// writes r: only control characters without a short escape are written
// so, in lower-case hex.
func canonicalUEscape(r rune, digits []byte) bool {
	if r >= 0x20 {
		return false
	}
	switch r {
	case '\b', '\f', '\n', '\r', '\t':
		return false
	}
	for _, c := range digits {
		if c >= 'A' && c <= 'F' {
			return false
		}
	}
	return true
}
