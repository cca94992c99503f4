package e2e

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// blobReply is the JSON of a stored blob.
type blobReply struct {
	Status      string `json:"status"`
	Hash        string `json:"hash"`
	URL         string `json:"url"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	Filename    string `json:"filename"`
}

// Blob contents the rows store; each is distinct so its hash is its own.
var (
	blobHello = []byte("hello, apie\nthis is a text blob\n")
	blobBin   = append([]byte{0, 1, 2, 0xff, 0xfe, '\n', '\r'}, bytes.Repeat([]byte("xyz"), 3000)...)
	blobAnon  = []byte(`{"anonymous": true}`)
)

// wantBlob checks a put's answer and records the blob.
func (c *contract) wantBlob(t *testing.T, r *reply, status int, data []byte, contentType, filename string) blobReply {
	t.Helper()
	r.want(t, status)
	r.wantContentType(t, "application/json")
	var b blobReply
	r.json(t, &b)
	want := blobReply{Status: "ok", Hash: sha(data), URL: c.tg.base + "/storage/" + sha(data), Size: int64(len(data)),
		ContentType: contentType, Filename: filename}
	if b != want {
		t.Errorf("got %+v, want %+v", b, want)
	}
	if status == http.StatusCreated {
		r.wantHeader(t, "Location", want.URL)
	} else {
		r.wantNoHeader(t, "Location") // see wantAppended
	}
	r.wantHeader(t, "ETag", `"`+want.Hash+`"`)
	c.blobs[b.Hash] = data
	return b
}

func blobRows() []contractRow {
	return []contractRow{
		{"PUT /storage/<filename> stores a blob: 201 with its JSON", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPut, "/storage/hello.txt", blobHello, header("Content-Type", "text/plain"))
			c.wantBlob(t, r, http.StatusCreated, blobHello, "text/plain", "hello.txt")
		}},
		{"the same bytes again: 200 with the same JSON", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPut, "/storage/hello.txt", blobHello, header("Content-Type", "text/plain"))
			c.wantBlob(t, r, http.StatusOK, blobHello, "text/plain", "hello.txt")
		}},
		{"PUT /storage/<hash> checks the bytes against the name", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPut, "/storage/"+sha(blobBin), blobBin, header("Content-Type", "application/octet-stream"))
			c.wantBlob(t, r, http.StatusCreated, blobBin, "application/octet-stream", "")
		}},
		{"PUT /storage/<hash> with other bytes: 400, nothing kept", func(t *testing.T, c *contract) {
			data := []byte("these bytes do not hash to the name")
			c.tg.do(t, http.MethodPut, "/storage/"+sha([]byte("something else")), data).want(t, http.StatusBadRequest)
			c.tg.do(t, http.MethodGet, "/storage/"+sha(data), nil).want(t, http.StatusNotFound)
			c.tg.do(t, http.MethodGet, "/storage/"+sha([]byte("something else")), nil).want(t, http.StatusNotFound)
		}},
		{"POST /storage/ without a name stores a blob", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodPost, "/storage/", blobAnon, header("Content-Type", "application/json"))
			c.wantBlob(t, r, http.StatusCreated, blobAnon, "application/json", "")
		}},
		{"GET /storage/<hash>: bytes, type, ETag, caching, Content-Disposition", func(t *testing.T, c *contract) {
			h := sha(blobHello)
			r := c.tg.do(t, http.MethodGet, "/storage/"+h, nil).want(t, http.StatusOK)
			if !bytes.Equal(r.body, blobHello) {
				t.Errorf("got %q, want %q", r.body, blobHello)
			}
			r.wantHeader(t, "Content-Type", "text/plain")
			r.wantHeader(t, "ETag", `"`+h+`"`)
			r.wantHeader(t, "Content-Disposition", "inline; filename=hello.txt")
			if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
				t.Errorf("got Cache-Control %q, want long immutable caching", cc)
			}
			r = c.tg.do(t, http.MethodGet, "/storage/"+sha(blobBin), nil).want(t, http.StatusOK)
			if !bytes.Equal(r.body, blobBin) {
				t.Errorf("binary blob: got %d bytes, want the %d stored", len(r.body), len(blobBin))
			}
			r.wantNoHeader(t, "Content-Disposition")
		}},
		{"GET with Range: 206 with the slice", func(t *testing.T, c *contract) {
			r := c.tg.do(t, http.MethodGet, "/storage/"+sha(blobBin), nil, header("Range", "bytes=3-9")).want(t, http.StatusPartialContent)
			if !bytes.Equal(r.body, blobBin[3:10]) {
				t.Errorf("got %q, want %q", r.body, blobBin[3:10])
			}
			r.wantHeader(t, "Content-Range", "bytes 3-9/"+strconv.Itoa(len(blobBin)))
		}},
		{"GET with If-None-Match: 304", func(t *testing.T, c *contract) {
			h := sha(blobHello)
			r := c.tg.do(t, http.MethodGet, "/storage/"+h, nil, header("If-None-Match", `"`+h+`"`)).want(t, http.StatusNotModified)
			if len(r.body) != 0 {
				t.Errorf("304 with body %q", r.body)
			}
		}},
		{"HEAD /storage/<hash>: the headers, no body", func(t *testing.T, c *contract) {
			h := sha(blobBin)
			r := c.tg.do(t, http.MethodHead, "/storage/"+h, nil).want(t, http.StatusOK)
			// Apache drops a CGI program's Content-Length from answers to
			// HEAD; where it is sent it must be the blob's size.
			if cl := r.header.Get("Content-Length"); cl != strconv.Itoa(len(blobBin)) && (cl != "" || !c.tg.cgi) {
				t.Errorf("Content-Length: got %q, want %d", cl, len(blobBin))
			}
			r.wantHeader(t, "Content-Type", "application/octet-stream")
			r.wantHeader(t, "ETag", `"`+h+`"`)
			if len(r.body) != 0 {
				t.Errorf("HEAD with body of %d bytes", len(r.body))
			}
		}},
		{"unknown blobs are 404, malformed hashes 400", func(t *testing.T, c *contract) {
			c.tg.do(t, http.MethodGet, "/storage/"+sha([]byte("never stored")), nil).want(t, http.StatusNotFound)
			c.tg.do(t, http.MethodHead, "/storage/"+sha([]byte("never stored")), nil).want(t, http.StatusNotFound)
			c.tg.do(t, http.MethodGet, "/storage/nothex", nil).want(t, http.StatusBadRequest)
			c.tg.do(t, http.MethodDelete, "/storage/"+sha([]byte("never stored")), nil).want(t, http.StatusNotFound)
		}},
		{"POST /storage/verify rehashes every blob", func(t *testing.T, c *contract) {
			c.wantBlobVerify(t)
		}},
		{"DELETE /storage/<hash>: 200, then 404", func(t *testing.T, c *contract) {
			h := sha(blobAnon)
			r := c.tg.do(t, http.MethodDelete, "/storage/"+h, nil).want(t, http.StatusOK)
			if got := strings.TrimSpace(string(r.body)); got != `{"status":"ok"}` {
				t.Errorf("got %q, want %q", got, `{"status":"ok"}`)
			}
			delete(c.blobs, h)
			c.tg.do(t, http.MethodGet, "/storage/"+h, nil).want(t, http.StatusNotFound)
			c.tg.do(t, http.MethodDelete, "/storage/"+h, nil).want(t, http.StatusNotFound)
			c.wantBlobVerify(t)
		}},
	}
}

// wantBlobVerify checks POST /storage/verify against the blobs stored.
func (c *contract) wantBlobVerify(t *testing.T) {
	t.Helper()
	r := c.tg.do(t, http.MethodPost, "/storage/verify", nil).want(t, http.StatusOK)
	var v struct {
		Status string `json:"status"`
		Blobs  int    `json:"blobs"`
		Bytes  int64  `json:"bytes"`
	}
	r.json(t, &v)
	var size int64
	for _, b := range c.blobs {
		size += int64(len(b))
	}
	if v.Status != "ok" || v.Blobs != len(c.blobs) || v.Bytes != size {
		t.Errorf("got %+v, want ok, %d blobs, %d bytes", v, len(c.blobs), size)
	}
}
