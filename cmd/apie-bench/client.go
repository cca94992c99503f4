package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	apieclient "apie/client"
)

// client sends requests to one apie (or floor) server as one user. The
// requests are built and sent by the apie client package's NewRequest
// and Do, which cost what building them by hand did (a URL, one header);
// its higher-level calls (Append and the rest) are left out of the timed
// loops on purpose: they add JSON encoding and eventIds the rows do not
// measure, and retries that would hide failures.
type client struct {
	bare *apieclient.Client // no credentials
	api  *apieclient.Client // with this client's credentials
}

// newClient returns a client for base that authenticates with auth (nil:
// no credentials). With keepAlive false every request says Connection:
// close (how the CGI rows are measured: keep-alive adds tens of
// milliseconds a request under mod_cgi). conns bounds the idle
// connections kept for reuse.
func newClient(base string, auth apieclient.Option, keepAlive bool, conns int) (*client, error) {
	tr := &http.Transport{
		DisableKeepAlives:   !keepAlive,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	bare, err := apieclient.New(base, apieclient.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Minute}))
	if err != nil {
		return nil, err
	}
	return (&client{bare: bare}).with(auth), nil
}

// with returns a client for the same server and connections that
// authenticates with auth instead (another user, a bearer token; nil:
// none).
func (c *client) with(auth apieclient.Option) *client {
	d := &client{bare: c.bare, api: c.bare}
	if auth != nil {
		d.api = c.bare.With(auth)
	}
	return d
}

func (c *client) close() { c.bare.HTTPClient().CloseIdleConnections() }

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
	req, err := c.api.NewRequest(ctx, method, path, body)
	if err != nil {
		return reply{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.api.Do(req)
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

// token asks POST /auth/token (with c's basic auth) for a bearer token
// and returns the option that authenticates with it.
func (c *client) token(ctx context.Context) (apieclient.Option, error) {
	tok, err := c.api.Token(ctx)
	if err != nil {
		return nil, err
	}
	return apieclient.WithBearerToken(tok.Token), nil
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
