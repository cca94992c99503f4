package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
)

// Blob is a stored blob, as the server describes it.
type Blob struct {
	Hash        string `json:"hash"` // SHA-256 of the bytes, lowercase hex
	URL         string `json:"url"`  // where the server serves it
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	Filename    string `json:"filename"`
	// Created is true for a 201 (newly stored), false for a 200 (those
	// bytes were stored already).
	Created bool `json:"-"`
}

// PutBlob stores the bytes r gives (PUT /storage/<filename>, or
// /storage/ when filename is empty), streamed, and returns them as stored:
// durable on the server when it returns. Putting bytes already stored
// succeeds and changes nothing. The server keeps contentType ("" sends
// none) and serves it back. r is read once, so PutBlob is not retried.
// When r is an *os.File, a *bytes.Reader, a *bytes.Buffer or a
// *strings.Reader its length is sent; other readers go chunked, which
// some CGI hosts refuse (411).
func (c *Client) PutBlob(ctx context.Context, r io.Reader, filename, contentType string) (Blob, error) {
	return c.putBlob(ctx, "/storage/"+url.PathEscape(filename), r, contentType)
}

// PutBlobAs is PutBlob to /storage/<hash>: the server stores the bytes
// only if they hash to hash; else a 400 *Error, and nothing is kept.
func (c *Client) PutBlobAs(ctx context.Context, hash string, r io.Reader, contentType string) (Blob, error) {
	return c.putBlob(ctx, "/storage/"+url.PathEscape(hash), r, contentType)
}

func (c *Client) putBlob(ctx context.Context, ref string, r io.Reader, contentType string) (Blob, error) {
	req, err := c.NewRequest(ctx, http.MethodPut, ref, r)
	if err != nil {
		return Blob{}, err
	}
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil {
				req.ContentLength = st.Size() - off
			}
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Blob{}, fmt.Errorf("apie client: %w", err)
	}
	if err := errorOf(req, resp); err != nil {
		return Blob{}, err
	}
	defer resp.Body.Close()
	var b Blob
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return Blob{}, fmt.Errorf("apie client: PUT %s: decode the answer: %w", ref, err)
	}
	b.Created = resp.StatusCode == http.StatusCreated
	return b, nil
}

// BlobContent is a blob being read.
type BlobContent struct {
	Body        io.ReadCloser // the bytes; the caller closes it
	Size        int64         // -1 when the server did not say
	ContentType string
	Filename    string // from Content-Disposition; "" when none was given
}

// GetBlob opens the blob whose hash is hash (GET /storage/<hash>); a
// *Error with Status 404 when there is none. Retried as Append is until
// the answer's headers arrive; the caller reads and closes Body.
func (c *Client) GetBlob(ctx context.Context, hash string) (*BlobContent, error) {
	a, err := c.send(ctx, request{method: http.MethodGet, ref: "/storage/" + url.PathEscape(hash), retry: true, stream: true})
	if err != nil {
		return nil, err
	}
	b := &BlobContent{Body: a.resp.Body, Size: a.resp.ContentLength, ContentType: a.header.Get("Content-Type")}
	if _, params, err := mime.ParseMediaType(a.header.Get("Content-Disposition")); err == nil {
		b.Filename = params["filename"]
	}
	return b, nil
}

// DeleteBlob removes the blob whose hash is hash (DELETE /storage/<hash>);
// a *Error with Status 404 when there is none. Not retried (a retry after
// a lost answer would say 404).
func (c *Client) DeleteBlob(ctx context.Context, hash string) error {
	_, err := c.send(ctx, request{method: http.MethodDelete, ref: "/storage/" + url.PathEscape(hash)})
	return err
}

// BlobsReport is what a verification of the blob store found.
type BlobsReport struct {
	Blobs int64 `json:"blobs"` // blobs rehashed
	Bytes int64 `json:"bytes"` // their total size
}

// VerifyBlobs asks the server to rehash every blob (POST /storage/verify).
// Damage is a *Error with Status 500 naming the bad blobs. Not retried.
func (c *Client) VerifyBlobs(ctx context.Context) (BlobsReport, error) {
	var r BlobsReport
	return r, c.postJSON(ctx, "/storage/verify", &r)
}
