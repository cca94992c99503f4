package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Well-formed bcrypt hashes (cost 4) for tests that only parse.
const (
	hashA = "$2a$04$rPSS9CB7T0jXtKwnO7/Hluc376AG/acMnA2jMxhPB45vlK6E8iRiW"
	hashB = "$2b$04$rPSS9CB7T0jXtKwnO7/Hluc376AG/acMnA2jMxhPB45vlK6E8iRiW"
	hashY = "$2y$04$rPSS9CB7T0jXtKwnO7/Hluc376AG/acMnA2jMxhPB45vlK6E8iRiW"
)

func TestParsePasswd(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Entry
	}{
		{"empty", "", nil},
		{"comments and blanks", "# users\n\n   \n\t# indented comment\n", nil},
		{"full line", "alice@example.com:" + hashA + ":Alice A.\n",
			[]Entry{{"alice@example.com", hashA, "Alice A."}}},
		{"htpasswd -B line", "bob:" + hashY + "\n", []Entry{{"bob", hashY, ""}}},
		{"2b and empty info", "c@x:" + hashB + ":\n", []Entry{{"c@x", hashB, ""}}},
		{"info with colons", "d@x:" + hashA + ":a:b:c\n", []Entry{{"d@x", hashA, "a:b:c"}}},
		{"no final newline", "e@x:" + hashA, []Entry{{"e@x", hashA, ""}}},
		{"crlf", "# c\r\nf@x:" + hashA + ":F\r\n", []Entry{{"f@x", hashA, "F"}}},
		{"order kept", "z@x:" + hashA + "\n# mid\na@x:" + hashB + "\n",
			[]Entry{{"z@x", hashA, ""}, {"a@x", hashB, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePasswd("passwd", strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("ParsePasswd: %v", err)
			}
			got := p.Entries()
			if len(got) != len(tt.want) || (len(got) > 0 && !slices.Equal(got, tt.want)) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for _, e := range tt.want {
				if g, ok := p.Lookup(e.Email); !ok || g != e {
					t.Errorf("Lookup(%q) = %q, %v; want %q, true", e.Email, g, ok, e)
				}
			}
		})
	}
}

func TestParsePasswdErrors(t *testing.T) {
	long := strings.Repeat("a", 255)
	tests := []struct {
		name  string
		input string
		want  string // substring of the error, which must name file:line
	}{
		{"no hash", "# ok\nalice@example.com\n", "users.txt:2: want email:hash"},
		{"empty email", ":" + hashA + "\n", "users.txt:1: empty email"},
		{"space in email", "a b:" + hashA + "\n", "users.txt:1: email"},
		{"control in email", "a\x01b:" + hashA + "\n", "users.txt:1: email"},
		{"email too long", long + ":" + hashA + "\n", "users.txt:1: email longer than 254"},
		{"bad utf8 email", "a\xffb:" + hashA + "\n", "users.txt:1: email is not valid UTF-8"},
		{"md5 hash", "\n\nbob:$apr1$abc$def\n", "users.txt:3: hash is not bcrypt"},
		{"plain password", "bob:secret:info\n", "users.txt:1: hash is not bcrypt"},
		{"empty hash", "bob::info\n", "users.txt:1: hash is not bcrypt"},
		{"space in hash", "bob:" + hashA + " :x\n", "users.txt:1: hash contains"},
		{"duplicate", "a@x:" + hashA + "\n#\na@x:" + hashB + "\n", `users.txt:3: user "a@x" listed twice`},
		{"cr in info", "a@x:" + hashA + ":x\ry\n", "users.txt:1: info must not contain a line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePasswd("users.txt", strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPasswdRoundTripPreserves(t *testing.T) {
	in := "# apie users\n\nalice@x:" + hashA + ":Alice\n  # keep me, spaces too  \nbob:" + hashY + "\n\n"
	p, err := ParsePasswd("p", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(p.marshal()); got != in {
		t.Fatalf("unchanged file rewritten:\ngot  %q\nwant %q", got, in)
	}
	if err := p.Set(Entry{"alice@x", hashB, "Alice B"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(Entry{"carol@x", hashA, "C"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove("bob"); err != nil {
		t.Fatal(err)
	}
	want := "# apie users\n\nalice@x:" + hashB + ":Alice B\n  # keep me, spaces too  \n\ncarol@x:" + hashA + ":C\n"
	if got := string(p.marshal()); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	again, err := ParsePasswd("p", strings.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.Entries(), p.Entries(); !slices.Equal(got, want) {
		t.Errorf("reparsed: got %q, want %q", got, want)
	}
}

func TestPasswdMutations(t *testing.T) {
	p, err := ParsePasswd("p", strings.NewReader("a@x:"+hashA+"\nb@x:"+hashA+"\nc@x:"+hashA+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"add existing", func() error { return p.Add(Entry{"a@x", hashB, ""}) }, ErrExists},
		{"set missing", func() error { return p.Set(Entry{"z@x", hashB, ""}) }, ErrNoUser},
		{"remove missing", func() error { return p.Remove("z@x") }, ErrNoUser},
		{"remove middle", func() error { return p.Remove("b@x") }, nil},
		{"lookup after remove still works", func() error {
			if e, ok := p.Lookup("c@x"); !ok || e.Email != "c@x" {
				return errors.New("c@x lost after removing b@x")
			}
			return nil
		}, nil},
		{"set after remove", func() error { return p.Set(Entry{"c@x", hashB, "new"}) }, nil},
		{"add bad email", func() error { return p.Add(Entry{"a:b", hashA, ""}) }, errAny},
		{"add bad hash", func() error { return p.Add(Entry{"n@x", "plain", ""}) }, errAny},
		{"set newline info", func() error { return p.Set(Entry{"a@x", hashA, "x\ny"}) }, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			switch {
			case tt.want == errAny && err == nil:
				t.Errorf("got no error, want one")
			case tt.want != errAny && !errors.Is(err, tt.want):
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if got, want := p.Entries(), []Entry{{"a@x", hashA, ""}, {"c@x", hashB, "new"}}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// errAny in a table means "some error, whichever".
var errAny = errors.New("any error")

func TestZeroPasswdAdd(t *testing.T) {
	var p Passwd
	if err := p.Add(Entry{"a@x", hashA, ""}); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Lookup("a@x"); !ok {
		t.Error("added user not found")
	}
}

func FuzzParsePasswd(f *testing.F) {
	for _, s := range []string{
		"", "# c\n\n", "a@x:" + hashA + ":info\n", "bob:" + hashY, "a@x:" + hashA + "\na@x:" + hashB,
		"x\r\n:", "a:b:c:d\n", "\xff:$2a$\n", strings.Repeat("#\n", 10),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePasswd("fuzz", strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		// What parses must write back and parse to the same entries.
		again, err := ParsePasswd("again", strings.NewReader(string(p.marshal())))
		if err != nil {
			t.Fatalf("reparse of written file: %v", err)
		}
		if got, want := again.Entries(), p.Entries(); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		for _, e := range p.Entries() {
			if err := e.validate(); err != nil {
				t.Fatalf("parsed entry %q is invalid: %v", e, err)
			}
		}
	})
}
