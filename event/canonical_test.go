package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
)

func TestCanonicalBodyAccepts(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"object sorted", `{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{"whitespace", " \t\n{ \"a\" : [ 1 , 2 ] }\r\n", `{"a":[1,2]}`},
		{"one point zero", `1.0`, `1`},
		{"minus zero", `-0`, `0`},
		{"minus zero point zero", `-0.0`, `0`},
		{"1e21", `1e21`, `1e+21`},
		{"1E30 is 10^30 exactly in canonical form", `1E30`, `1e+30`},
		{"1e23 is the shortest form of its double", `1e23`, `1e+23`},
		{"point one", `0.1`, `0.1`},
		{"1e-7", `1e-7`, `1e-7`},
		{"0.000001", `0.000001`, `0.000001`},
		{"2^53", `9007199254740992`, `9007199254740992`},
		{"-2^53", `-9007199254740992`, `-9007199254740992`},
		{"2^53 plus two", `9007199254740994`, `9007199254740994`},
		{"big with zeros", `12345678901234567000`, `12345678901234567000`},
		{"decimal below 2^53 keeps nearest double", `333333333.33333329`, `333333333.3333333`},
		{"zero with big exponent", `0e99999999999999999999`, `0`},
		{"smallest double", `5e-324`, `5e-324`},
		{"escapes", `"\u0041\/\"\\\b\f\n\r\t\u001F"`, `"A/\"\\\b\f\n\r\t\u001f"`},
		{"surrogate pair", `"\ud83d\ude00"`, `"😀"`},
		{"raw unicode and U+2028", "\"é\u2028😀<>&\"", "\"é\u2028😀<>&\""},
		{"del stays raw", `"\u007f"`, "\"\x7f\""},
		{"nested", `{"z":{"y":[{"b":null,"a":true}]},"a":false}`, `{"a":false,"z":{"y":[{"a":true,"b":null}]}}`},
		{"keys by UTF-16 units", `{"\ufb33":1,"😂":2,"€":3}`, "{\"€\":3,\"😂\":2,\"\ufb33\":1}"},
		{"string", `"x"`, `"x"`},
		{"null", `null`, `null`},
		{"empty object and array", `[{},[]]`, `[{},[]]`},
		{"same key in different objects", `[{"a":1},{"a":2}]`, `[{"a":1},{"a":2}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalBody([]byte(tt.in))
			if err != nil {
				t.Fatalf("CanonicalBody(%q): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCanonicalBodyRefuses(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, `empty input: want a JSON value`},
		{"only whitespace", " \n", `empty input: want a JSON value`},
		{"invalid UTF-8 in a string", "\"abcd\xff\"", `invalid UTF-8 at byte 5`},
		{"invalid UTF-8 outside strings", "[1,\xc3]", `invalid UTF-8 at byte 3`},
		{"overlong encoding", "\"\xc0\xaf\"", `invalid UTF-8 at byte 1`},
		{"UTF-8 surrogate", "\"\xed\xa0\x80\"", `invalid UTF-8 at byte 1`},
		{"duplicate key", `{"a":1,"b":{"c":2},"a":3}`, `duplicate key "a" at byte 19`},
		{"duplicate key after step back", `{"b":1,"a":2,"b":3}`, `duplicate key "b" at byte 13`},
		{"duplicate key nested", `[{"x":{"k":1,"k":2}}]`, `duplicate key "k" at byte 13`},
		{"duplicate key spelled with an escape", `{"a":1,"\u0061":2}`, `duplicate key "a" at byte 7`},
		{"lone high surrogate", `{"a":"xyz\ud800"}`, `lone surrogate \ud800 at byte 9`},
		{"high surrogate then letter", `"\ud800\u0041"`, `lone surrogate \ud800 at byte 1`},
		{"lone low surrogate", `"\udc00"`, `lone surrogate \udc00 at byte 1`},
		{"2^53 plus one", `{"n":9007199254740993}`, `number 9007199254740993 at byte 5 cannot be kept exactly by a double: send it as a string`},
		{"minus 2^53 minus one", `-9007199254740993`, `number -9007199254740993 at byte 0 cannot be kept exactly by a double: send it as a string`},
		{"big integer", `[12345678901234567890]`, `number 12345678901234567890 at byte 1 cannot be kept exactly by a double: send it as a string`},
		{"2^64, whose shortest form is another decimal", `18446744073709551616`, `number 18446744073709551616 at byte 0 cannot be kept exactly by a double: send it as a string`},
		{"big non-integer", `9007199254740993.5`, `number 9007199254740993.5 at byte 0 cannot be kept exactly by a double: send it as a string`},
		{"overflow", `[1e400]`, `number 1e400 at byte 1 is too large for a double: send it as a string`},
		{"underflow", `1e-400`, `number 1e-400 at byte 0 is too small for a double: it would become 0`},
		{"trailing data", `{} x`, `trailing data at byte 3 after the JSON value`},
		{"two values", `1 2`, `trailing data at byte 2 after the JSON value`},
		{"leading zero", `01`, `invalid number at byte 0: leading zero`},
		{"bare minus", `-`, `invalid number at byte 0: want a digit`},
		{"dot without digits", `1.`, `invalid number at byte 0: want a digit after '.'`},
		{"exponent without digits", `1e+`, `invalid number at byte 0: want a digit in the exponent`},
		{"plus sign", `+1`, `unexpected '+' at byte 0: want a JSON value`},
		{"NaN", `NaN`, `unexpected 'N' at byte 0: want a JSON value`},
		{"bad literal", `tru`, `invalid literal at byte 0: want true`},
		{"unterminated string", `"abc`, `unterminated string starting at byte 0`},
		{"raw newline in string", "\"a\nb\"", `unescaped control character U+000A in a string at byte 2`},
		{"bad escape", `"\x"`, `invalid escape "\\x" at byte 1`},
		{"short unicode escape", `"\u12"`, `invalid escape at byte 1: \u needs four hex digits`},
		{"missing colon", `{"a" 1}`, `unexpected '1' at byte 5: want ':'`},
		{"missing comma", `[1 2]`, `unexpected '2' at byte 3: want ',' or ']'`},
		{"trailing comma", `[1,]`, `unexpected ']' at byte 3: want a JSON value`},
		{"non-string key", `{1:2}`, `unexpected '1' at byte 1: want a string key`},
		{"unclosed object", `{"a":1`, `unexpected end of input at byte 6: want ',' or '}'`},
		{"byte order mark", "\ufeff{}", `unexpected character U+FEFF at byte 0: want a JSON value`},
		{"too deep", strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), `arrays and objects nested deeper than the limit of 10000 levels at byte 10000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalBody([]byte(tt.in))
			var in *InputError
			if !errors.As(err, &in) {
				t.Fatalf("CanonicalBody(%q) = %q, %v; want an *InputError", tt.in, got, err)
			}
			if in.Msg != tt.want {
				t.Fatalf("got %q, want %q", in.Msg, tt.want)
			}
		})
	}
}

func TestCanonicalBodyDepthLimit(t *testing.T) {
	in := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	got, err := CanonicalBody([]byte(in))
	if err != nil {
		t.Fatalf("nesting of exactly %d: %v", maxDepth, err)
	}
	if string(got) != in {
		t.Fatalf("got %d bytes, want the input back", len(got))
	}
}

// TestCanonicalBodyRFC8785 checks against the RFC's own vectors.
func TestCanonicalBodyRFC8785(t *testing.T) {
	ins, err := filepath.Glob("testdata/jcs/*.in.json")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no vectors in testdata/jcs: %v", err)
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(in, ".in.json") + ".out.json")
			if err != nil {
				t.Fatal(err)
			}
			got, err := CanonicalBody(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

// TestCanonicalBodyFastPath checks that an input already canonical is
// returned as it is, and one that is not goes through jcs.Transform: the
// two must agree.
func TestCanonicalBodyFastPath(t *testing.T) {
	tests := []struct {
		in        string
		canonical bool
	}{
		{`{"a":1,"b":[true,false,null],"c":"\u001f\n"}`, true},
		{`{"b":1,"a":1}`, false},
		{`{"a":1,"a\u0000":2}`, true},
		{`"\/"`, false},
		{`"\u0041"`, false},
		{`"\u001F"`, false},
		{`"\u000a"`, false},
		{`"\ud83d\ude00"`, false},
		{`1.0`, false},
		{`-0`, false},
		{`1e21`, false},
		{`1e+21`, true},
		{`100000000000000000000`, true},
		{`1E+21`, false},
		{`0.1`, true},
		{`[1, 2]`, false},
		{"{\"€\":3,\"😂\":2,\"\ufb33\":1}", true},
		{"{\"😂\":2,\"\ufb33\":1}", true},
		{"{\"\ufb33\":1,\"😂\":2}", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			s := newScanner([]byte(tt.in), true, true)
			if err := s.value(); err != nil {
				t.Fatal(err)
			}
			if got := s.nonCanon < 0; got != tt.canonical {
				t.Fatalf("canonical: got %v, want %v", got, tt.canonical)
			}
			want, err := jcs.Transform([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := CanonicalBody([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			if tt.canonical && !bytes.Equal(got, []byte(tt.in)) {
				t.Fatalf("canonical input changed: got %q, want %q", got, tt.in)
			}
		})
	}
}

// TestCanonicalBodyKeepsValue checks that canonicalisation changes no
// value, as encoding/json reads them.
func TestCanonicalBodyKeepsValue(t *testing.T) {
	for _, in := range []string{
		`{"b":[1.5,-0,1e21,0.1,1e-7],"a":{"y":"é\u2028","x":null}}`,
		`[9007199254740992,-1.25e-300,"\ud83d\ude00\t"]`,
	} {
		out, err := CanonicalBody([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) { // DeepEqual has -0 == 0, as JSON does
			t.Fatalf("got %v, want %v", b, a)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"", "", 0},
		{"a", "b", -1},
		{"a", "ab", -1},
		{"b", "a", 1},
		{"\ufb33", "😂", 1}, // U+FB33 > D83D
		{"😂", "😃", -1},     // same high surrogate
		{"😂", "€", 1},
		{"aé", "aé", 0},
		{"é", "z", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"|"+tt.b, func(t *testing.T) {
			got := compareUTF16([]byte(tt.a), []byte(tt.b))
			if sign(got) != tt.want {
				t.Fatalf("got %d, want sign %d", got, tt.want)
			}
		})
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
