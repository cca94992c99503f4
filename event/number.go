package event

import (
	"math"
	"strconv"

	"github.com/gowebpki/jcs"
)

// exact53 is 2^53: every integer up to it is exactly a double.
const exact53 = 1 << 53

// number checks the number at s.pos against the JSON grammar
//
//	number = [ "-" ] ( "0" / digit1-9 *digit ) [ "." 1*digit ] [ ( "e" / "E" ) [ "+" / "-" ] 1*digit ]
//
// and then with checkNumber. It returns the literal.
func (s *scanner) number() ([]byte, error) {
	start := s.pos
	i := start
	if i < len(s.data) && s.data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s.data) && s.data[i] >= '0' && s.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	intStart := i
	switch n := digits(); {
	case n == 0:
		return nil, s.errorf("invalid number at byte %d: want a digit", start)
	case n > 1 && s.data[intStart] == '0':
		return nil, s.errorf("invalid number at byte %d: leading zero", start)
	}
	plain := true // no fraction, no exponent
	if i < len(s.data) && s.data[i] == '.' {
		plain = false
		i++
		if digits() == 0 {
			return nil, s.errorf("invalid number at byte %d: want a digit after '.'", start)
		}
	}
	if i < len(s.data) && (s.data[i] == 'e' || s.data[i] == 'E') {
		plain = false
		i++
		if i < len(s.data) && (s.data[i] == '+' || s.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, s.errorf("invalid number at byte %d: want a digit in the exponent", start)
		}
	}
	s.pos = i
	lit := s.data[start:i]
	if plain && i-intStart <= 15 {
		// Below 10^15: exact, and canonical unless it is "-0".
		if s.canon && string(lit) == "-0" {
			s.notCanonical(start)
		}
		return lit, nil
	}
	if s.strict || s.canon {
		if err := s.checkNumber(lit, start); err != nil {
			return nil, err
		}
	}
	return lit, nil
}

// checkNumber refuses (when strict) a number a double cannot keep:
//   - beyond the range of a double (1e400);
//   - not zero, but so small that it becomes zero (1e-400);
//   - of magnitude 2^53 or more whose canonical form, the shortest text that
//     reads back as the same double, is not the same decimal value as the
//     literal (9007199254740993 becomes 9007199254740992). There a double
//     holds whole numbers only, and not all of them, so the text a client
//     sent must survive the trip exactly.
//
// Decimals below 2^53 (0.1) are taken as the nearest double, as every
// JSON reader does; they come back in their shortest form.
func (s *scanner) checkNumber(lit []byte, at int) error {
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return s.errorf("number %s at byte %d is too large for a double: send it as a string", shortText(lit), at)
	}
	canonical, err := jcs.NumberToJSON(f)
	if err != nil {
		return s.errorf("number %s at byte %d cannot be canonicalised: %v", shortText(lit), at, err)
	}
	if s.canon && canonical != string(lit) {
		s.notCanonical(at)
	}
	if !s.strict {
		return nil
	}
	switch {
	case f == 0 && !zeroLiteral(lit):
		return s.errorf("number %s at byte %d is too small for a double: it would become 0", shortText(lit), at)
	case math.Abs(f) >= exact53:
		neg, digits, exp := decimal(string(lit))
		cneg, cdigits, cexp := decimal(canonical)
		if cneg != neg || cdigits != digits || cexp != exp {
			return s.errorf("number %s at byte %d cannot be kept exactly by a double: send it as a string", shortText(lit), at)
		}
	}
	return nil
}

// zeroLiteral reports whether a number literal's digits before any
// exponent are all zero.
func zeroLiteral(lit []byte) bool {
	for _, c := range lit {
		switch {
		case c == 'e' || c == 'E':
			return true
		case c >= '1' && c <= '9':
			return false
		}
	}
	return true
}

// decimal splits a JSON number literal into its sign, its significant
// digits (no leading or trailing zeros; "" for zero) and the power of ten
// they are multiplied by, so two literals of the same value give the same
// triple. An exponent too large to matter saturates.
func decimal(lit string) (neg bool, digits string, exp int64) {
	i := 0
	if i < len(lit) && lit[i] == '-' {
		neg = true
		i++
	}
	var mant []byte
	for ; i < len(lit) && lit[i] >= '0' && lit[i] <= '9'; i++ {
		mant = append(mant, lit[i])
	}
	if i < len(lit) && lit[i] == '.' {
		for i++; i < len(lit) && lit[i] >= '0' && lit[i] <= '9'; i++ {
			mant = append(mant, lit[i])
			exp--
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		eneg := false
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			eneg = lit[i] == '-'
			i++
		}
		var e int64
		for ; i < len(lit); i++ {
			if e < 1e12 {
				e = e*10 + int64(lit[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	for len(mant) > 0 && mant[0] == '0' {
		mant = mant[1:]
	}
	for len(mant) > 0 && mant[len(mant)-1] == '0' {
		mant = mant[:len(mant)-1]
		exp++
	}
	if len(mant) == 0 {
		return false, "", 0
	}
	return neg, string(mant), exp
}
