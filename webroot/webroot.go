// Package webroot tells whether apie's files lie inside a web server's
// document root without the protection of apie's shipped .htaccess.
//
// Apache serves every file under its document root that no configuration
// denies. The shipped htaccess/.htaccess denies everything in its
// directory and below except apie-cgi, and carries a marker line (Marker)
// so that apie-cgi can tell it from any other .htaccess. Check looks, for
// each of apie's files under a document root, for an .htaccess holding
// that line in the file's directory or one above it, up to the root.
//
// The check costs a few system calls per CGI request: resolving the roots'
// symbolic links and reading the .htaccess files on the way up (each
// directory once), never listing a directory.
package webroot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Marker is the line of the shipped .htaccess that Check looks for.
const Marker = "# apie:allow-list"

// HtaccessName is the file Apache reads per directory.
const HtaccessName = ".htaccess"

// ErrExposed is what an *ExposedError matches with errors.Is.
var ErrExposed = errors.New("apie's files lie inside the web root without the shipped .htaccess")

// ExposedError names the files of apie's that a web server may serve to
// anyone, and the document root they lie in.
type ExposedError struct {
	Paths []string // apie's files and directories, in the order checked
	Root  string   // the document root the first lies in
}

func (e *ExposedError) Error() string {
	return fmt.Sprintf("%s: inside the web root %s, and no %s in their directory or one above it up to the web root holds the line %q, "+
		"so the web server may serve them to anyone. Copy apie's htaccess/.htaccess beside apie-cgi (with the data below that directory), "+
		"or move the data out of the web root, or, if the server's own configuration keeps it out of reach, "+
		`set "cgi": {"trustWebRoot": true} in apie.json`,
		strings.Join(e.Paths, ", "), e.Root, HtaccessName, Marker)
}

// Is makes errors.Is(err, ErrExposed) true for an *ExposedError.
func (e *ExposedError) Is(target error) bool { return target == ErrExposed }

// Enforced reports whether Check applies to the web server getenv
// describes: Apache (SERVER_SOFTWARE "Apache…"), the server that reads
// .htaccess files. Under others (nginx and fcgiwrap) an .htaccess means
// nothing; their own configuration must deny apie's files.
func Enforced(getenv func(string) string) bool {
	return strings.HasPrefix(getenv("SERVER_SOFTWARE"), "Apache")
}

// Check returns an *ExposedError naming those of apie's directories and
// files (absolute, clean paths) that lie inside a web root the CGI
// environment getenv tells of (see webRoots) without an .htaccess holding
// Marker in their directory or one above it up to that root (for a
// directory, an .htaccess inside it counts too). It returns nil when
// Enforced is false or no root is known.
func Check(getenv func(string) string, dirs, files []string) error {
	if !Enforced(getenv) {
		return nil
	}
	roots := webRoots(getenv)
	if len(roots) == 0 {
		return nil
	}
	marked := map[string]bool{} // directory -> holds a marked .htaccess
	var exposed *ExposedError
	for i, p := range append(dirs[:len(dirs):len(dirs)], files...) {
		if p == "" {
			continue
		}
		start := p // where the walk up starts
		if i >= len(dirs) {
			start = filepath.Dir(p)
		}
		for _, root := range roots {
			if !inside(root, p) || protected(root, start, marked) {
				continue
			}
			if exposed == nil {
				exposed = &ExposedError{Root: root}
			}
			exposed.Paths = append(exposed.Paths, p)
			break
		}
	}
	if exposed == nil {
		return nil
	}
	return exposed
}

// webRoots returns the directories whose files Apache serves as they are,
// as far as the CGI environment getenv tells: DOCUMENT_ROOT, and the
// directory the script's URL is mapped from (SCRIPT_FILENAME less the
// trailing path segments it shares with SCRIPT_NAME), which differs from
// it under a user directory (/~you/apie/apie-cgi from
// /home/you/public_html/apie/apie-cgi). Under an Alias or ScriptAlias
// (a CONTEXT_PREFIX other than a user directory's /~you) the script's
// directory is left out: a ScriptAlias directory runs its files rather
// than serving them, and the environment does not tell the two apart. Each root comes as given and, when
// different, with its symbolic links resolved: apie's own paths may come
// either way (the executable's directory is resolved, an absolute path in
// apie.json is not).
func webRoots(getenv func(string) string) []string {
	var roots []string
	add := func(r string) {
		if r == "" || !filepath.IsAbs(r) {
			return
		}
		r = filepath.Clean(r)
		for _, have := range roots {
			if have == r {
				return
			}
		}
		roots = append(roots, r)
		if resolved, err := filepath.EvalSymlinks(r); err == nil && resolved != r {
			roots = append(roots, resolved)
		}
	}
	add(getenv("DOCUMENT_ROOT"))
	if prefix := getenv("CONTEXT_PREFIX"); prefix == "" || strings.HasPrefix(prefix, "/~") {
		add(scriptRoot(getenv("SCRIPT_NAME"), getenv("SCRIPT_FILENAME")))
	}
	return roots
}

// scriptRoot returns the directory the URL path name's first segments map
// to, given the file name maps to: file less the trailing segments the two
// share, or "" if they share none.
func scriptRoot(name, file string) string {
	if name == "" || !filepath.IsAbs(file) {
		return ""
	}
	name, file = path.Clean("/"+name), filepath.Clean(file)
	stripped := false
	for name != "/" && file != "/" && path.Base(name) == filepath.Base(file) {
		name, file = path.Dir(name), filepath.Dir(file)
		stripped = true
	}
	if !stripped {
		return ""
	}
	return file
}

// inside reports whether p is root or lies below it.
func inside(root, p string) bool {
	if root == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == root || strings.HasPrefix(p, root+"/")
}

// protected reports whether dir or a directory above it, up to root,
// holds a marked .htaccess. marked remembers the directories already
// read.
func protected(root, dir string, marked map[string]bool) bool {
	if !inside(root, dir) {
		return false
	}
	for d := dir; ; d = filepath.Dir(d) {
		m, seen := marked[d]
		if !seen {
			m = hasMarker(filepath.Join(d, HtaccessName))
			marked[d] = m
		}
		if m {
			return true
		}
		if d == root || d == filepath.Dir(d) {
			return false
		}
	}
}

// hasMarker reports whether the file at path has a line that is Marker
// (surrounding blanks aside). A missing or unreadable file has none: when
// Apache cannot read an .htaccess it refuses the whole directory anyway.
func hasMarker(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for line := range bytes.Lines(b) {
		if string(bytes.TrimSpace(line)) == Marker {
			return true
		}
	}
	return false
}
