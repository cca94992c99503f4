package auth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEmailLen is the longest email accepted, in bytes (RFC 5321's path limit).
const maxEmailLen = 254

// User is an authenticated user, as handlers see it.
type User struct {
	Email string
	Info  string
}

// Entry is one user line of a passwd file: "Email:Hash:Info".
type Entry struct {
	Email string
	Hash  string // bcrypt, "$2a$", "$2b$" or "$2y$"
	Info  string
}

// Passwd is a parsed passwd file. It keeps every line, comments and blank
// lines included, so that writing it back changes only what was changed.
// A Passwd is not safe for concurrent mutation; readers may share one that
// no one mutates.
type Passwd struct {
	lines    []pline
	index    map[string]int // email -> position in lines
	modified bool
}

// pline is one line of the file. Comments, blank lines and entries not
// changed since parsing are written back as raw, byte for byte.
type pline struct {
	raw     string // the line as read, without its line ending; "" once changed
	isEntry bool
	entry   Entry
}

// ParsePasswd parses a passwd file read from r; name is used in error
// messages only, which read "name:line: what is wrong". A duplicate email is
// an error, as is any user line that is not "email:hash" or
// "email:hash:info" with a valid email and a bcrypt hash.
func ParsePasswd(name string, r io.Reader) (*Passwd, error) {
	p := &Passwd{index: make(map[string]int)}
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		text, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read passwd %s: %w", name, err)
		}
		if text == "" && err != nil {
			return p, nil
		}
		text = strings.TrimSuffix(text, "\n")
		text = strings.TrimSuffix(text, "\r")
		if perr := p.parseLine(text); perr != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, perr)
		}
		if err != nil {
			return p, nil
		}
	}
}

// parseLine appends one line (without its line ending) to p.
func (p *Passwd) parseLine(text string) error {
	trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
	if trimmed == "" || trimmed[0] == '#' {
		p.lines = append(p.lines, pline{raw: text})
		return nil
	}
	fields := strings.SplitN(text, ":", 3)
	if len(fields) < 2 {
		return errors.New("want email:hash or email:hash:info")
	}
	e := Entry{Email: fields[0], Hash: fields[1]}
	if len(fields) == 3 {
		e.Info = fields[2]
	}
	if err := e.validate(); err != nil {
		return err
	}
	if _, dup := p.index[e.Email]; dup {
		return fmt.Errorf("user %q listed twice", e.Email)
	}
	p.index[e.Email] = len(p.lines)
	p.lines = append(p.lines, pline{raw: text, isEntry: true, entry: e})
	return nil
}

// ReadPasswd reads and parses the passwd file at path. A missing file is an
// empty Passwd, not an error, so a fresh installation needs no file.
func ReadPasswd(path string) (*Passwd, error) {
	p, _, err := readPasswdStat(path)
	return p, err
}

// readPasswdStat is ReadPasswd that also returns the identity of the file
// read (from the open descriptor, so it matches the bytes parsed).
func readPasswdStat(path string) (*Passwd, fileID, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Passwd{index: make(map[string]int)}, fileID{}, nil
	}
	if err != nil {
		return nil, fileID{}, fmt.Errorf("open passwd: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileID{}, fmt.Errorf("stat passwd: %w", err)
	}
	p, err := ParsePasswd(path, f)
	if err != nil {
		return nil, fileID{}, err
	}
	return p, idOf(fi), nil
}

// Lookup returns the entry for email (matched exactly, case included).
func (p *Passwd) Lookup(email string) (Entry, bool) {
	i, ok := p.index[email]
	if !ok {
		return Entry{}, false
	}
	return p.lines[i].entry, true
}

// Entries returns the users in file order. The slice is the caller's.
func (p *Passwd) Entries() []Entry {
	out := make([]Entry, 0, len(p.index))
	for _, l := range p.lines {
		if l.isEntry {
			out = append(out, l.entry)
		}
	}
	return out
}

// Add appends a user. It returns ErrExists if the email is already present,
// and an error naming the field if e is not a valid entry.
func (p *Passwd) Add(e Entry) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	if _, ok := p.index[e.Email]; ok {
		return fmt.Errorf("add user %q: %w", e.Email, ErrExists)
	}
	if p.index == nil {
		p.index = make(map[string]int)
	}
	p.index[e.Email] = len(p.lines)
	p.lines = append(p.lines, pline{isEntry: true, entry: e})
	p.modified = true
	return nil
}

// Set replaces the hash and info of an existing user, in place. It returns
// ErrNoUser if the email is not present.
func (p *Passwd) Set(e Entry) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("set user: %w", err)
	}
	i, ok := p.index[e.Email]
	if !ok {
		return fmt.Errorf("set user %q: %w", e.Email, ErrNoUser)
	}
	if p.lines[i].entry == e {
		return nil
	}
	p.lines[i] = pline{isEntry: true, entry: e}
	p.modified = true
	return nil
}

// Remove deletes a user's line. It returns ErrNoUser if the email is not
// present.
func (p *Passwd) Remove(email string) error {
	i, ok := p.index[email]
	if !ok {
		return fmt.Errorf("remove user %q: %w", email, ErrNoUser)
	}
	p.lines = append(p.lines[:i], p.lines[i+1:]...)
	delete(p.index, email)
	for email, j := range p.index {
		if j > i {
			p.index[email] = j - 1
		}
	}
	p.modified = true
	return nil
}

// marshal returns the file's bytes: untouched lines as read, changed ones as
// "email:hash:info", each ending in "\n".
func (p *Passwd) marshal() []byte {
	var b bytes.Buffer
	for _, l := range p.lines {
		if l.raw != "" || !l.isEntry {
			b.WriteString(l.raw)
		} else {
			b.WriteString(l.entry.Email + ":" + l.entry.Hash + ":" + l.entry.Info)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// validate says what, if anything, makes e unfit for a passwd line.
func (e Entry) validate() error {
	if err := validEmail(e.Email); err != nil {
		return err
	}
	if err := validHash(e.Hash); err != nil {
		return err
	}
	if strings.ContainsAny(e.Info, "\r\n") {
		return errors.New("info must not contain a line break")
	}
	return nil
}

// validEmail accepts a non-empty, valid UTF-8 string of at most 254 bytes
// with no ':', control characters or white space.
func validEmail(s string) error {
	switch {
	case s == "":
		return errors.New("empty email")
	case len(s) > maxEmailLen:
		return fmt.Errorf("email longer than %d bytes", maxEmailLen)
	case !utf8.ValidString(s):
		return errors.New("email is not valid UTF-8")
	case strings.IndexFunc(s, badEmailRune) >= 0:
		return fmt.Errorf("email %q contains ':', a control character or white space", s)
	}
	return nil
}

func badEmailRune(r rune) bool {
	return r == ':' || unicode.IsControl(r) || unicode.IsSpace(r)
}

// validHash accepts what looks like a bcrypt hash: the "$2a$", "$2b$" or
// "$2y$" prefix and no separator, space or control characters. Whether the
// rest decodes is found out when it is compared, where a bad hash is logged
// as a fault.
func validHash(s string) error {
	if !strings.HasPrefix(s, "$2a$") && !strings.HasPrefix(s, "$2b$") && !strings.HasPrefix(s, "$2y$") {
		return errors.New("hash is not bcrypt (want $2a$, $2b$ or $2y$)")
	}
	if strings.IndexFunc(s, badEmailRune) >= 0 || !utf8.ValidString(s) {
		return errors.New("hash contains ':', a control character or white space")
	}
	return nil
}
