package handler

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"apie/sum"
)

func TestCopyAsArray(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"one", "{\"a\":1}\n", "[\n{\"a\":1}\n]\n"},
		{"two", "{\"a\":1}\n{\"b\":2}\n", "[\n{\"a\":1},\n{\"b\":2}\n]\n"},
		{"three", "1\n2\n3\n", "[\n1,\n2,\n3\n]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tt.in)},
				{"byte by byte", iotest.OneByteReader(strings.NewReader(tt.in))},
				{"half", iotest.HalfReader(strings.NewReader(tt.in))},
			} {
				var out bytes.Buffer
				if err := copyAsArray(&out, r.r); err != nil {
					t.Fatal(err)
				}
				if got := out.String(); got != tt.want {
					t.Fatalf("%s: got %q, want %q", r.name, got, tt.want)
				}
				var v []any
				if err := json.Unmarshal(out.Bytes(), &v); err != nil {
					t.Fatalf("%s: output is not a JSON array: %v", r.name, err)
				}
			}
		})
	}
}

func FuzzCopyAsArray(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\":[1,2]}\n"))
	f.Add([]byte("1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Records are JSON values, one a line: build such input from the
		// fuzzer's bytes by quoting each line.
		var in bytes.Buffer
		var want []string
		for _, line := range bytes.Split(data, []byte("\n")) {
			q, _ := json.Marshal(string(line))
			in.Write(q)
			in.WriteByte('\n')
			want = append(want, string(bytes.ToValidUTF8(line, []byte("\uFFFD"))))
		}
		var out bytes.Buffer
		if err := copyAsArray(&out, iotest.HalfReader(&in)); err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("not a JSON array of strings: %v\n%s", err, out.Bytes())
		}
		if len(got) != len(want) {
			t.Fatalf("got %d records, want %d", len(got), len(want))
		}
	})
}

func TestParseETag(t *testing.T) {
	h := sum.Genesis.String()
	tests := []struct {
		in string
		ok bool
	}{
		{h, true},
		{`"` + h + `"`, true},
		{`W/"` + h + `"`, true},
		{" " + h + " ", true},
		{strings.ToUpper(h), true},
		{`"` + h, true},
		{"", false},
		{`"abc"`, false},
		{h + "0", false},
		{"*", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseETag(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parseETag(%q): err %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && got != sum.Genesis {
				t.Fatalf("got %s, want %s", got, sum.Genesis)
			}
		})
	}
}

func TestETagMatches(t *testing.T) {
	h := sum.Genesis
	other := sum.Of([]byte("x"))
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"*", true},
		{`"` + h.String() + `"`, true},
		{`"` + other.String() + `", "` + h.String() + `"`, true},
		{`"` + other.String() + `"`, false},
		{`garbage`, false},
	}
	for _, tt := range tests {
		if got := etagMatches(tt.header, h); got != tt.want {
			t.Errorf("etagMatches(%q): got %v, want %v", tt.header, got, tt.want)
		}
	}
}

func FuzzParseETag(f *testing.F) {
	f.Add(`"` + sum.Genesis.String() + `"`)
	f.Add(`W/"x"`)
	f.Fuzz(func(t *testing.T, s string) {
		if h, err := parseETag(s); err == nil {
			if back, err := parseETag(`"` + h.String() + `"`); err != nil || back != h {
				t.Fatalf("round trip of %q failed", s)
			}
		}
		etagMatches(s, sum.Genesis)
	})
}

func TestEmptySuffixRange(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"bytes=-0", true},
		{"bytes=-000", true},
		{"bytes=0-1, -0", true},
		{"bytes=-1", false},
		{"bytes=0-0", false},
		{"bytes=-", false},
		{"", false},
		{"items=-0", false},
	}
	for _, tt := range tests {
		if got := emptySuffixRange(tt.in); got != tt.want {
			t.Errorf("emptySuffixRange(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
}
