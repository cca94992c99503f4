package blobstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"apie/store"
)

// FuzzBlobName checks that checkFilename accepts only safe base names, and
// refuses with store.ErrBadName.
func FuzzBlobName(f *testing.F) {
	for _, s := range []string{"", "a.txt", "..", ".", "a/b", "a\x00b", "caf\xe9", "ünï.txt", "a\nb", "a\u0085b", strings.Repeat("x", 256), `a\b`, "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := checkFilename(name)
		if err != nil {
			if !errors.Is(err, store.ErrBadName) {
				t.Fatalf("got error %v for %q, want one wrapping store.ErrBadName", err, name)
			}
			return
		}
		if name == "" {
			return
		}
		switch {
		case len(name) > store.MaxFilenameBytes:
			t.Fatalf("accepted %d bytes", len(name))
		case !utf8.ValidString(name):
			t.Fatalf("accepted invalid UTF-8 %q", name)
		case name == "." || name == "..":
			t.Fatalf("accepted %q", name)
		case strings.ContainsRune(name, '/') || filepath.Base(name) != name:
			t.Fatalf("accepted %q, not a base name", name)
		case strings.IndexFunc(name, unicode.IsControl) >= 0:
			t.Fatalf("accepted control character in %q", name)
		}
	})
}

// FuzzBlobContentType checks that contentTypeOf always returns printable
// ASCII of bounded length, and the default or the trimmed input.
func FuzzBlobContentType(f *testing.F) {
	for _, s := range []string{"", "text/plain", "text/plain; charset=utf-8", "text", "a/b\r\nc: d", "text/plain; x=\"\x00\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := contentTypeOf(in)
		if got != defaultContentType && got != strings.TrimSpace(in) {
			t.Fatalf("got %q for %q, want the default or the trimmed input", got, in)
		}
		if len(got) > store.MaxContentTypeBytes {
			t.Fatalf("got %d bytes", len(got))
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] > 0x7e {
				t.Fatalf("got %q with byte %#x", got, got[i])
			}
		}
		if !strings.Contains(got, "/") {
			t.Fatalf("got %q without a subtype", got)
		}
	})
}

func TestBlobPutBadFilename(t *testing.T) {
	tests := []struct {
		name     string
		filename string
	}{
		{"NUL", "a\x00b"},
		{"slash", "dir/file"},
		{"leading slash", "/etc/passwd"},
		{"dotdot", ".."},
		{"dot", "."},
		{"invalid UTF-8", "caf\xe9"},
		{"newline", "a\nb"},
		{"carriage return", "a\rb"},
		{"DEL", "a\x7fb"},
		{"C1 control", "a\u0085b"},
		{"300 bytes", strings.Repeat("a", 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBlobStore(t, BlobOptions{})
			_, _, err := b.Put(context.Background(), strings.NewReader("content"), store.BlobInfo{Filename: tt.filename}, nil)
			if !errors.Is(err, store.ErrBadName) {
				t.Fatalf("got error %v, want store.ErrBadName", err)
			}
			assertNothingKept(t, b)
		})
	}
}

func TestCheckFilenameAccepts(t *testing.T) {
	for _, name := range []string{"", "a", "report.pdf", ".hidden", "...", "a b", "ünïcødé.txt", "日本語.txt", `back\slash`, strings.Repeat("a", 255), strings.Repeat("é", 127)} {
		t.Run(name, func(t *testing.T) {
			if err := checkFilename(name); err != nil {
				t.Errorf("got %v for %q, want nil", err, name)
			}
		})
	}
}

func TestContentTypeOf(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", defaultContentType},
		{"text/plain", "text/plain"},
		{"text/plain; charset=utf-8", "text/plain; charset=utf-8"},
		{"  image/png  ", "image/png"},
		{"application/vnd.api+json", "application/vnd.api+json"},
		{"text", defaultContentType},
		{"text/", defaultContentType},
		{"/plain", defaultContentType},
		{"text/plain; charset", defaultContentType},
		{"text/plain\r\nX-Evil: 1", defaultContentType},
		{"text/plain; name=\"a\x00b\"", defaultContentType},
		{"text/plain; name=\"é\"", defaultContentType},
		{"text/" + strings.Repeat("a", 300), defaultContentType},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := contentTypeOf(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// cancelReader cancels its context after the first read, so the next
// buffer copy must notice.
