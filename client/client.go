package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client sends requests to one apie server as one user. It is safe for
// concurrent use; its settings do not change after New.
type Client struct {
	base  *url.URL // scheme, host and the API's path prefix, without a trailing slash
	root  string   // base as a string, what API paths are appended to
	auth  string   // the Authorization header value, "" for none
	hc    *http.Client
	retry Retry
}

// An Option changes a Client as New makes it.
type Option func(*Client)

// WithBasicAuth makes every request authenticate as user with password
// (HTTP basic auth).
func WithBasicAuth(user, password string) Option {
	return func(c *Client) {
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	}
}

// WithBearerToken makes every request carry token (from Token) as a
// bearer token instead of a password.
func WithBearerToken(token string) Option {
	return func(c *Client) { c.auth = "Bearer " + token }
}

// WithHTTPClient sends the requests through hc (its transport, timeouts
// and redirect policy) instead of a client of the package's own.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithRetry sets how Append and the reads retry; see Retry.
func WithRetry(r Retry) Option {
	return func(c *Client) { c.retry = r }
}

// New returns a client for the apie whose API is at baseURL: the scheme,
// host and path prefix its routes hang from ("http://127.0.0.1:8000", or
// "https://example.org/cgi-bin/apie-cgi" under CGI). Without options it
// sends no credentials, retries as DefaultRetry says and uses an
// http.Client of its own that does not follow redirects (a redirect is
// returned as an *Error: an API answer the client does not understand).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("apie client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("apie client: base URL %q: want http:// or https:// and a host", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("apie client: base URL %q: want no query, fragment or user (use WithBasicAuth)", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	c := &Client{base: u, root: u.String(), retry: DefaultRetry(), hc: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// With returns a client for the same server, sharing c's connections,
// with opts applied on top of c's settings (another user, a token).
func (c *Client) With(opts ...Option) *Client {
	d := *c
	for _, o := range opts {
		o(&d)
	}
	return &d
}

// BaseURL returns the base URL the client was made with, without a
// trailing slash.
func (c *Client) BaseURL() string { return c.root }

// HTTPClient returns the http.Client the requests go through.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// NewRequest returns a request for method and ref with the client's
// credentials set. ref is an API path with its query ("/events?limit=2"),
// joined to the base URL as it is, unescaped ("" is the base URL itself);
// or an absolute URL on the
// base URL's scheme and host (a Link header's target, resolved), used as
// it is. Anything else is an error, so credentials never go to another
// server. The request is sent by Do, with no retries.
func (c *Client) NewRequest(ctx context.Context, method, ref string, body io.Reader) (*http.Request, error) {
	u, err := c.resolve(ref)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("apie client: %s %s: %w", method, ref, err)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	return req, nil
}

// resolve turns an API path or a same-origin absolute URL into the URL to
// request.
func (c *Client) resolve(ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "/") {
		return c.root + ref, nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("apie client: request URL: %w", err)
	}
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return "", fmt.Errorf("apie client: request URL %q: want a path, or a URL on %s://%s", ref, c.base.Scheme, c.base.Host)
	}
	return ref, nil
}

// Do sends req as it is (NewRequest's, possibly changed after) and returns
// the server's answer, whatever its status: no retries and no *Error. The
// caller closes the response body. It is for requests the other calls do
// not make.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	return c.hc.Do(req)
}

// errorOf returns nil for an answer below 400, else the *Error the answer
// says, reading (and closing) its body.
func errorOf(req *http.Request, resp *http.Response) error {
	if resp.StatusCode < 400 && (resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified) {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil && !errors.Is(err, io.EOF) {
		body = nil
	}
	return newError(req, resp, body)
}
