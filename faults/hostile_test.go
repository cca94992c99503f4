package faults

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// rawAuthed sends one raw HTTP/1.1 request line and headers (with alice's
// credentials) and a body, so the path reaches apie-serve byte for byte.
func rawAuthed(t testing.TB, srv *server, method, target string, header string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: test\r\nAuthorization: %s\r\nConnection: close\r\nContent-Length: %d\r\n%s\r\n",
		method, target, basicAuth(alice, alicePW), len(body), header)
	res, b, err := rawRequest(srv.Addr, req+string(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	return res, b
}

// blobName matches what may appear under blobs/ after uploads.
var blobName = regexp.MustCompile(`^(format|lock|tmp|[0-9a-f]{2}|[0-9a-f]{2}/[0-9a-f]{64}(\.meta)?)$`)

// checkNoStrayFiles fails if anything but the store's own files appeared
// in the store's directory, or outside blobs/ and events/ since before.
func checkNoStrayFiles(t testing.TB, s *store, before map[string]bool) {
	t.Helper()
	err := filepath.Walk(s.dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.dir, path)
		switch {
		case before[rel]:
		case strings.HasPrefix(rel, "blobs"+string(filepath.Separator)):
			if inner, _ := filepath.Rel(s.path("blobs"), path); !blobName.MatchString(inner) {
				t.Errorf("unexpected file in the blob store: %s", rel)
			}
		default:
			t.Errorf("a request created %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// listTree returns every path under dir, relative to it.
func listTree(t testing.TB, dir string) map[string]bool {
	t.Helper()
	m := make(map[string]bool)
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		m[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPathTraversal sends paths that try to leave the routes or the
// store: dot segments plain and escaped, escaped slashes and backslashes,
// NUL. None may answer 2xx, 5xx or any file's content, nor create a file.
func TestPathTraversal(t *testing.T) {
	r := newRow(t, rowTraversal, "GET, PUT and DELETE with .., %2e%2e, %2f, %5c, %00 in /storage/ and /events/ paths, sent raw")
	s := seedStore(t, t.TempDir(), 3)
	srv := s.start(t, serverOptions{})
	before := listTree(t, s.dir)
	secrets := [][]byte{[]byte(alice), []byte("$2a$"), []byte("apie-blobstore"), []byte("apie-eventlog"), []byte(`"eventlog"`)}
	targets := []string{
		"/storage/../passwd", "/storage/..%2f..%2fpasswd", "/storage/%2e%2e/%2e%2e/passwd", "/storage/%2e%2e%2fpasswd",
		"/storage/%2e%2e%2f%2e%2e%2fapie.json", "/storage/..%5c..%5cpasswd", "/storage/%2e%2e%2fformat", "/storage/..%2fformat",
		"/storage/%2e%2e%2fevents%2flog", "/storage/%00", "/storage/" + s.blobHash + "%00", "/storage/" + s.blobHash + "%2f..",
		"/storage/" + s.blobHash[:2] + "%2f" + s.blobHash, "/events/..%2f..%2fpasswd", "/events/../../passwd", "/events/%2e%2e%2flog",
		"/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/storage/%252e%252e%252fpasswd", "/storage/.%2e/.%2e/passwd",
	}
	n := 0
	for _, target := range targets {
		for _, method := range []string{"GET", "HEAD", "DELETE", "PUT"} {
			var body []byte
			if method == "PUT" {
				body = []byte("traversal " + target)
			}
			res, b := rawAuthed(t, srv, method, target, "", body)
			n++
			if method == "PUT" && res.StatusCode == http.StatusCreated {
				// The name is kept only as metadata, if it is a base name:
				// the bytes live under their hash (checked below).
				if bytes.Contains(b, []byte(`"filename":".."`)) || bytes.Contains(b, []byte(`/`+`passwd`)) {
					t.Errorf("%s %s: stored with a path as its name: %s", method, target, b)
				}
			} else if res.StatusCode < 300 || res.StatusCode >= 500 {
				t.Errorf("%s %s: status %d, want a 3xx or 4xx: %q", method, target, res.StatusCode, b)
			}
			for _, secret := range secrets {
				if bytes.Contains(b, secret) {
					t.Errorf("%s %s: the answer holds %q: %q", method, target, secret, b)
				}
			}
			if len(b) > 0 && res.StatusCode >= 400 && method != "HEAD" && !isJSONError(b) {
				t.Errorf("%s %s: status %d with a body that is not a JSON error: %q", method, target, res.StatusCode, b)
			}
		}
	}
	checkNoStrayFiles(t, s.store, before)
	c := srv.client(alice, alicePW)
	checkBlobs(t, c, s.led)
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(n, "every answer 3xx or 4xx (a JSON error where there is a body), except PUTs whose decoded name is a plain base name (like ..\\..\\passwd), stored under their hash only; no file content, passwd hash or config in any answer; no file created outside the blob layout; the seeded blob and log intact; the store verifies")
}

// TestHostileFilenames uploads blobs under names a file system or a header
// must not take: NUL, invalid UTF-8, CR/LF, other controls, '/', dot
// names, names over 255 bytes. Each is refused with 400 (or redirected
// by the router), nothing is kept; a 255-byte name is fine.
func TestHostileFilenames(t *testing.T) {
	r := newRow(t, rowBadNames, "PUT /storage/<name> with NUL, %ff, %c3%28, CR/LF, TAB, DEL, U+0085, '/', '.', '..', 256 and 10,000 bytes")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	before := listTree(t, s.dir)
	bad := []string{
		"%00", "a%00b.txt", "%ff", "a%c3%28.txt", "a%0d%0aSet-Cookie:%20x=1", "%0d%0a", "tab%09name", "del%7f", "nel%c2%85",
		"a%2fb", "%2e", "%2e%2e", "..", strings.Repeat("a", 256), strings.Repeat("%41", 10000),
	}
	for i, name := range bad {
		data, hash := randomBytes(100 + i)
		res, b := rawAuthed(t, srv, "PUT", "/storage/"+name, "", data)
		if res.StatusCode < 300 || res.StatusCode >= 500 {
			t.Errorf("PUT /storage/%.40s: status %d, want 400 (or a redirect): %s", name, res.StatusCode, b)
		}
		if res.StatusCode >= 400 && !isJSONError(b) {
			t.Errorf("PUT /storage/%.40s: status %d with %q, want a JSON error", name, res.StatusCode, b)
		}
		c := srv.client(alice, alicePW)
		mustNotServe(t, c, hash)
		c.close()
	}
	mustNoParts(t, s)
	checkNoStrayFiles(t, s, before)
	long := strings.Repeat("é", 127) + "a" // 255 bytes
	data, hash := randomBytes(1000)
	res, b := rawAuthed(t, srv, "PUT", "/storage/"+strings.Repeat("%C3%A9", 127)+"a", "", data)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with a 255-byte filename: status %d, want 201: %s", res.StatusCode, b)
	}
	c := srv.client(alice, alicePW)
	got := c.must(t, "GET", "/storage/"+hash, nil, nil)
	if _, params, err := mime.ParseMediaType(got.header.Get("Content-Disposition")); err != nil || params["filename"] != long {
		t.Fatalf("Content-Disposition of a 255-byte name: %q (%v), want filename %q", got.header.Get("Content-Disposition"), err, long)
	}
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(len(bad)+1, "each hostile name refused (400 with a JSON error, or a router redirect for dot segments); nothing kept, no temp file, no file outside the blob layout; a 255-byte UTF-8 name stored and served back intact")
}

// TestHeaderInjection stores blobs whose filenames and content types hold
// quotes, semicolons, backslashes, parameters and non-ASCII text, and
// checks the headers they come back in: Content-Disposition parses (as
// mime.FormatMediaType quotes it) to exactly the stored name, no header
// is added, and every blob is served sandboxed and unsniffed.
func TestHeaderInjection(t *testing.T) {
	r := newRow(t, rowHeaderInject, "blobs stored with filenames holding \", ;, \\, =, filename*=, unicode, and content types holding quotes, parameters, HTML and SVG; then fetched")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	names := []string{
		`a".txt`, `x"; filename="evil.html`, `a;b=c.txt`, `back\slash"\.txt`, `résumé ☃ 履歴書.pdf`,
		`x"; filename*=utf-8''evil.html`, `=?utf-8?b?ZXZpbC5odG1s?=`, `"`, `;`, `  spaced  .txt`, `%41%0d%0a.txt`,
	}
	types := []string{
		`text/html`, `image/svg+xml`, `text/plain; charset="utf-8"`, `text/plain; x="a\"b"`, `text/plain; x="y;z"`,
		`application/json; foo=bar; baz="q u x"`, `text/html; charset=utf-8`, `bogus`, `text/html, text/plain`,
	}
	n := 0
	check := func(name, ctype string) {
		data, hash := randomBytes(200 + n)
		n++
		res := c.must(t, "PUT", "/storage/"+pathEscape(name), data, map[string]string{"Content-Type": ctype})
		if res.status != http.StatusCreated {
			t.Fatalf("PUT %q as %q: status %d: %s", name, ctype, res.status, res.body)
		}
		res = c.must(t, "GET", "/storage/"+hash, nil, nil)
		cds := res.header.Values("Content-Disposition")
		if len(cds) != 1 {
			t.Fatalf("GET of %q: %d Content-Disposition headers, want 1: %q", name, len(cds), cds)
		}
		if strings.ContainsAny(cds[0], "\r\n") {
			t.Fatalf("GET of %q: Content-Disposition holds CR or LF: %q", name, cds[0])
		}
		if _, params, err := mime.ParseMediaType(cds[0]); err != nil || params["filename"] != name || len(params) != 1 {
			t.Fatalf("GET of %q: Content-Disposition %q parses to %q (%v), want exactly filename=%q", name, cds[0], params, err, name)
		}
		if got := res.header.Values("Content-Type"); len(got) != 1 || strings.ContainsAny(got[0], "\r\n") {
			t.Fatalf("GET of %q as %q: Content-Type %q", name, ctype, got)
		}
		if _, _, err := mime.ParseMediaType(res.header.Get("Content-Type")); err != nil {
			t.Fatalf("GET of %q as %q: served Content-Type %q does not parse: %v", name, ctype, res.header.Get("Content-Type"), err)
		}
		if res.header.Get("Content-Security-Policy") != "sandbox" || res.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET of %q as %q: CSP %q, X-Content-Type-Options %q; want sandbox and nosniff",
				name, ctype, res.header.Get("Content-Security-Policy"), res.header.Get("X-Content-Type-Options"))
		}
		if !bytes.Equal(res.body, data) {
			t.Fatalf("GET of %q: the bytes differ", name)
		}
	}
	for i, name := range names {
		check(name, types[i%len(types)])
	}
	for i, ctype := range types {
		check(fmt.Sprintf("type-%d.bin", i), ctype)
	}
	// A header value cannot hold CR/LF on the wire: a raw request that
	// tries to smuggle one in as a second header gets nothing extra back.
	data, hash := randomBytes(300)
	res, b := rawAuthed(t, srv, "PUT", "/storage/inject.txt", "Content-Type: text/plain\r\nX-Injected: yes\r\n", data)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT with an extra header: status %d: %s", res.StatusCode, b)
	}
	if got := c.must(t, "GET", "/storage/"+hash, nil, nil); got.header.Get("X-Injected") != "" {
		t.Fatalf("a request header came back as a response header")
	}
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass(n+1, "every Content-Disposition one header, no CR/LF, parsed back by mime.ParseMediaType to exactly the stored filename; Content-Type one parseable header; CSP sandbox and nosniff on every blob; no request header echoed")
}

// pathEscape escapes a filename as one path segment.
func pathEscape(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
