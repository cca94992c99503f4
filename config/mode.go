package config

import (
	"fmt"
	"io/fs"
	"strings"
)

// ParseMode parses a permission string of exactly nine characters in the
// form ls prints, such as "rw-r-----" (0640) or "rwxr-x---" (0750). Each
// position holds its letter (r, w or x, in that order per owner, group and
// other) or '-'. Anything else is an error naming the string.
func ParseMode(s string) (fs.FileMode, error) {
	const letters = "rwxrwxrwx"
	if len(s) != len(letters) {
		return 0, fmt.Errorf("parse mode %q: want 9 characters like \"rw-r-----\"", s)
	}
	var m fs.FileMode
	for i := 0; i < len(letters); i++ {
		bit := fs.FileMode(1) << (len(letters) - 1 - i)
		switch s[i] {
		case letters[i]:
			m |= bit
		case '-':
		default:
			return 0, fmt.Errorf("parse mode %q: character %d is %q, want %q or '-'", s, i+1, s[i], letters[i])
		}
	}
	return m, nil
}

// FormatMode returns the nine-character form of m's permission bits, such
// as "rw-r-----"; ParseMode(FormatMode(m)) == m.Perm().
func FormatMode(m fs.FileMode) string {
	const letters = "rwxrwxrwx"
	var b strings.Builder
	for i := 0; i < len(letters); i++ {
		if m&(fs.FileMode(1)<<(len(letters)-1-i)) != 0 {
			b.WriteByte(letters[i])
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}
