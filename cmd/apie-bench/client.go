package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// client sends requests to one apie (or floor) server as one user.
type client struct {
	base string
	hc   *http.Client
	auth string // Authorization header value, "" for none
}

// newClient returns a client for base. With keepAlive false every request
// says Connection: close (how the CGI rows are measured: keep-alive adds
// tens of milliseconds a request under mod_cgi). conns bounds the idle
// connections kept for reuse.
func newClient(base, auth string, keepAlive bool, conns int) *client {
	tr := &http.Transport{
		DisableKeepAlives:   !keepAlive,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	return &client{base: base, auth: auth, hc: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
}

// with returns a client for the same server and connections as another
// user (or with a bearer token).
func (c *client) with(auth string) *client {
	d := *c
	d.auth = auth
	return &d
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// bufPool holds the buffers responses are read through.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// reply is a response read to its end.
type reply struct {
	status  int
	header  http.Header
	body    []byte // only when the request asked to keep it
	n       int64  // body bytes read
	chunked bool   // sent with Transfer-Encoding: chunked (no Content-Length)
}

// do sends one request and reads the whole response; it keeps the body if
// keep is set, else only counts it. hdr holds header name/value pairs.
func (c *client) do(ctx context.Context, method, path string, body io.Reader, keep bool, hdr ...string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return reply{}, err
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	rep := reply{status: resp.StatusCode, header: resp.Header, chunked: slices.Contains(resp.TransferEncoding, "chunked")}
	if keep || resp.StatusCode >= 300 {
		rep.body, err = io.ReadAll(resp.Body)
		rep.n = int64(len(rep.body))
	} else {
		buf := bufPool.Get().(*[]byte)
		// Hide WriterTo and ReaderFrom so big bodies are read in 256 KiB
		// reads, like the floors read.
		rep.n, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{resp.Body}, *buf)
		bufPool.Put(buf)
	}
	if err != nil {
		return rep, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return rep, nil
}

// expect returns an error unless rep's status is one of codes.
func expect(what string, rep reply, codes ...int) error {
	for _, c := range codes {
		if rep.status == c {
			return nil
		}
	}
	b := rep.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Errorf("%s: got status %d, want %v: %s", what, rep.status, codes, b)
}

// call is do followed by expect.
func (c *client) call(ctx context.Context, method, path string, body []byte, keep bool, codes []int, hdr ...string) (reply, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	rep, err := c.do(ctx, method, path, r, keep, hdr...)
	if err != nil {
		return rep, err
	}
	return rep, expect(method+" "+path, rep, codes...)
}

// token asks POST /auth/token (with c's basic auth) for a bearer token and
// returns the Authorization value that carries it.
func (c *client) token(ctx context.Context) (string, error) {
	rep, err := c.call(ctx, http.MethodPost, "/auth/token", nil, true, []int{http.StatusOK})
	if err != nil {
		return "", err
	}
	var t struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(rep.body, &t); err != nil || t.Token == "" {
		return "", fmt.Errorf("POST /auth/token: no token in %q", rep.body)
	}
	return "Bearer " + t.Token, nil
}

// note pads events so a stored record is about 400 bytes, like a small
// real event with its hashes and metadata.
const note = "the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy dog"

// appendEvent is the request body of one small event, number i.
func appendEvent(i int) []byte {
	b := make([]byte, 0, 160)
	b = append(b, `{"eventType":"bench.append","body":{"i":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"note":"`...)
	b = append(b, note...)
	b = append(b, `"}}`...)
	return b
}

// appendBatch is the request body of events first .. first+n-1 as one
// batch.
func appendBatch(first, n int) []byte {
	b := make([]byte, 0, n*150+2)
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, appendEvent(first+i)...)
	}
	return append(b, ']')
}

// eventHashes returns the "hash" members of the stored events in an
// append response, in order. (JCS output, so the member is spelled
// exactly "hash" and bodies here hold no such key.)
func eventHashes(body []byte) []string {
	key := []byte(`"hash":"`)
	var out []string
	for {
		i := bytes.Index(body, key)
		if i < 0 || i+len(key)+64 > len(body) {
			return out
		}
		body = body[i+len(key):]
		out = append(out, string(body[:64]))
		body = body[64:]
	}
}
