package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// request is one API call: all send needs to make it, and to make it again.
type request struct {
	method string
	ref    string // an API path, or a same-origin URL (see NewRequest)
	body   []byte // sent again on every try; nil: no body
	header http.Header
	retry  bool // retry network errors and 5xx as the client's Retry says
	stream bool // return the answer with its body unread (in resp)
}

// answer is a successful (below 400) answer to a request.
type answer struct {
	status int
	header http.Header
	url    *url.URL       // the URL that answered, for resolving links
	body   []byte         // the whole body, unless the request streams
	resp   *http.Response // when the request streams: the caller closes its body
}

// send makes r, retrying when r.retry says so, and returns the answer, or
// a *Error for the server's refusal, or what failed on the way. Unless r
// streams, reading the body is part of the try, so a connection lost
// mid-answer is retried too.
func (c *Client) send(ctx context.Context, r request) (answer, error) {
	attempts := 1
	if r.retry {
		attempts = max(c.retry.Attempts, 1)
	}
	for n := 1; ; n++ {
		a, resp, err := c.try(ctx, r)
		if n < attempts && retryable(ctx, err) {
			if perr := c.retry.pause(ctx, n, resp); perr != nil {
				return answer{}, fmt.Errorf("apie client: %s %s: gave up waiting to retry: %w (after %w)", r.method, r.ref, perr, err)
			}
			continue
		}
		return a, err
	}
}

// try makes r once. resp is the answer's response (its body closed unless
// r streams and the answer is a success) whenever the server answered,
// even with an error.
func (c *Client) try(ctx context.Context, r request) (answer, *http.Response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := c.NewRequest(ctx, r.method, r.ref, body)
	if err != nil {
		return answer{}, nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, nil, fmt.Errorf("apie client: %w", err)
	}
	if err := errorOf(req, resp); err != nil {
		return answer{}, resp, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, url: resp.Request.URL}
	if r.stream {
		a.resp = resp
		return a, resp, nil
	}
	defer resp.Body.Close()
	if a.body, err = io.ReadAll(resp.Body); err != nil {
		return answer{}, resp, fmt.Errorf("apie client: %s %s: read the answer: %w", r.method, r.ref, err)
	}
	return a, resp, nil
}
