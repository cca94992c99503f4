package faults

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// rawAuthed sends one raw HTTP/1.1 request line and headers (with alice's
// credentials) and a body, so the path reaches apie-serve byte for byte.
func rawAuthed(t testing.TB, srv *server, method, target string, header string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: test\r\nAuthorization: %s\r\nConnection: close\r\nContent-Length: %d\r\n%s\r\n",
		method, target, basicAuth(alice, alicePW), len(body), header)
	res, b, err := rawRequest(srv.addr, req+string(body))
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
	srv.stop(t)
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
	srv.stop(t)
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
	srv.stop(t)
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

// TestHugeHeaders sends request headers over apie-serve's 64 KiB limit,
// as one header and as many: 431, and the server keeps serving; 60 KiB
// still passes.
func TestHugeHeaders(t *testing.T) {
	r := newRow(t, rowHugeHeaders, "GET /info with one 80 KiB header, with 2,000 headers of 40 bytes, and with one 60 KiB header")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	many := strings.Repeat("X-Filler-0000000000: 00000000000000000\r\n", 2000)
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"one 80 KiB header", "X-Big: " + strings.Repeat("a", 80<<10) + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"2000 headers", many, http.StatusRequestHeaderFieldsTooLarge},
		{"one 60 KiB header", "X-Big: " + strings.Repeat("a", 60<<10) + "\r\n", http.StatusOK},
	} {
		res, b := rawAuthed(t, srv, "GET", "/info", tc.header, nil)
		if res.StatusCode != tc.want {
			t.Fatalf("%s: status %d, want %d: %.200s", tc.name, res.StatusCode, tc.want, b)
		}
	}
	c := srv.client(alice, alicePW)
	if res := c.must(t, "GET", "/info", nil, nil); res.status != http.StatusOK {
		t.Fatalf("GET /info after huge headers: status %d", res.status)
	}
	srv.stop(t)
	r.pass(3, "over 64 KiB: 431 (one big header and many small); 60 KiB: 200; the server keeps serving")
}

// TestBigBatch appends a batch one over the 10,000-event limit (413, JSON,
// nothing written), through apie-serve and apie-cgi, and one at it (201).
func TestBigBatch(t *testing.T) {
	r := newRow(t, rowBigBatch, "POST /events with 10,001 events through apie-serve and apie-cgi; then 10,000")
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	led := newLedger()
	mustAppend(t, c, led, appendBody(1, false, 10))
	over := appendBody(10001, true, 0)
	res := c.must(t, "POST", "/events", over, nil)
	if res.status != http.StatusRequestEntityTooLarge || !isJSONError(res.body) {
		t.Fatalf("10,001 events: status %d %.200s, want 413 and a JSON error", res.status, res.body)
	}
	cgiRes, _ := s.runCGI(t, cgiAs(cgiRequest{method: "POST", pathInfo: "/events", body: over}))
	if cgiRes.status != http.StatusRequestEntityTooLarge || !isJSONError(cgiRes.body) {
		t.Fatalf("10,001 events through CGI: status %d %.200s, want 413 and a JSON error", cgiRes.status, cgiRes.body)
	}
	if got := c.must(t, "HEAD", "/events", nil, nil).header.Get("X-Apie-Count"); got != "1" {
		t.Fatalf("after refused batches: count %s, want 1", got)
	}
	res = c.must(t, "POST", "/events", appendBody(10000, true, 0), nil)
	if res.status != http.StatusCreated {
		t.Fatalf("10,000 events: status %d %.200s, want 201", res.status, res.body)
	}
	if got := c.must(t, "HEAD", "/events", nil, nil).header.Get("X-Apie-Count"); got != "10001" {
		t.Fatalf("after a 10,000-event batch: count %s, want 10001", got)
	}
	srv.stop(t)
	s.mustVerify(t)
	r.pass(3, "10,001: 413 with a JSON error (server and CGI), count unchanged; 10,000: 201, all appended; verify exit 0")
}

// TestBigBlob uploads blobs one byte over a 1 MiB limit, with and without
// Content-Length: 413, nothing kept, no temp file; at the limit: 201.
func TestBigBlob(t *testing.T) {
	r := newRow(t, rowBigBlob, "limits.blobBytes = 1 MiB; PUT of 1 MiB + 1 with Content-Length (server, CGI) and chunked; then exactly 1 MiB")
	s := newStore(t, t.TempDir(), storeOptions{BlobBytes: 1 << 20})
	srv := s.start(t, serverOptions{})
	c := srv.client(alice, alicePW)
	data, hash := randomBytes(1<<20 + 1)
	res := c.must(t, "PUT", "/storage/big.bin", data, nil)
	if res.status != http.StatusRequestEntityTooLarge || !isJSONError(res.body) {
		t.Fatalf("PUT of 1 MiB + 1: status %d %s, want 413 and a JSON error", res.status, res.body)
	}
	// Chunked: the size is known only once the body is read.
	req, err := http.NewRequest("PUT", c.base+"/storage/big.bin", io.MultiReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(alice, alicePW)
	hres, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hres.Body)
	hres.Body.Close()
	if hres.StatusCode != http.StatusRequestEntityTooLarge || !isJSONError(body) {
		t.Fatalf("chunked PUT of 1 MiB + 1: status %d %s, want 413 and a JSON error", hres.StatusCode, body)
	}
	cgiRes, _ := s.runCGI(t, cgiAs(cgiRequest{method: "PUT", pathInfo: "/storage/big.bin", body: data}))
	if cgiRes.status != http.StatusRequestEntityTooLarge || !isJSONError(cgiRes.body) {
		t.Fatalf("PUT of 1 MiB + 1 through CGI: status %d %s, want 413 and a JSON error", cgiRes.status, cgiRes.body)
	}
	mustNotServe(t, c, hash)
	mustNoParts(t, s)
	led := newLedger()
	if err := ackBlob(led, c.must(t, "PUT", "/storage/limit.bin", data[:1<<20], nil), sha256hex(data[:1<<20]), 1<<20); err != nil {
		t.Fatalf("PUT of exactly 1 MiB: %v", err)
	}
	srv.stop(t)
	s.mustVerify(t)
	r.pass(4, "1 MiB + 1: 413 with a JSON error (with Content-Length, chunked, and through CGI), GET 404, no temp file; exactly 1 MiB: 201")
}

// TestSameBlobConcurrently uploads the same bytes from 16 clients at once,
// five times over apie-serve and once as 16 apie-cgi processes: all
// succeed, exactly one 201, the rest 200, one file (and its metadata) on
// disk, no temp file.
func TestSameBlobConcurrently(t *testing.T) {
	const clients, rounds = 16, 5
	r := newRow(t, rowSameBlob, fmt.Sprintf("%d rounds of 16 HTTP clients PUTting the same 512 KiB at once (released together), and 16 apie-cgi processes", rounds))
	s := newStore(t, t.TempDir(), storeOptions{})
	srv := s.start(t, serverOptions{})
	race := func(put func(data []byte) (response, error)) {
		data, hash := randomBytes(512 << 10)
		var wg sync.WaitGroup
		start := make(chan struct{})
		codes := make([]int, clients)
		errs := make([]error, clients)
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res, err := put(data)
				codes[i], errs[i] = res.status, err
				if err == nil {
					errs[i] = ackBlob(newLedger(), res, hash, len(data))
				}
			}()
		}
		close(start)
		wg.Wait()
		created := 0
		for i := range codes {
			if errs[i] != nil {
				t.Fatalf("client %d: %v", i, errs[i])
			}
			if codes[i] == http.StatusCreated {
				created++
			}
		}
		if created != 1 {
			t.Fatalf("16 uploads of the same bytes: %d answered 201, want exactly 1 (codes %v)", created, codes)
		}
		files, _ := filepath.Glob(s.path("blobs", hash[:2], hash+"*"))
		if len(files) != 2 || !slices.Contains(files, s.path("blobs", hash[:2], hash)) || !slices.Contains(files, s.path("blobs", hash[:2], hash+".meta")) {
			t.Fatalf("on disk for %s: %q, want the blob and its .meta", hash, files)
		}
		mustNoParts(t, s)
	}
	for round := 0; round < rounds; round++ {
		c := srv.client(alice, alicePW)
		race(func(data []byte) (response, error) {
			return c.do("PUT", "/storage/same.bin", data, map[string]string{"Content-Type": "application/octet-stream"})
		})
		c.close()
	}
	race(func(data []byte) (response, error) {
		res, _ := s.runCGI(t, cgiAs(cgiRequest{method: "PUT", pathInfo: "/storage/same.bin", body: data}))
		return res, nil
	})
	srv.stop(t)
	s.mustVerify(t)
	r.pass((rounds+1)*clients, "every upload succeeded with the right hash; exactly one 201 per round, the rest 200; one blob file and one .meta on disk; no temp file; verify exit 0")
}
