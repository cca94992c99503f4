package faults

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

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
	srv.Shutdown(t)
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
	srv.Shutdown(t)
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
	api, err := c.api()
	if err != nil {
		t.Fatal(err)
	}
	req, err := api.NewRequest(t.Context(), "PUT", "/storage/big.bin", io.MultiReader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	hres, err := api.Do(req)
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
	srv.Shutdown(t)
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
	srv.Shutdown(t)
	s.mustVerify(t)
	r.pass((rounds+1)*clients, "every upload succeeded with the right hash; exactly one 201 per round, the rest 200; one blob file and one .meta on disk; no temp file; verify exit 0")
}
