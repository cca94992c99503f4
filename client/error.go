package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Error is an answer of 400 or more (or a redirect) from the server.
type Error struct {
	Method string // the request's method
	Path   string // the request's path and query
	Status int    // the HTTP status code
	// Message is the server's errorMessage, or, when the answer is not
	// apie's JSON error (a web server's own page), its first bytes.
	Message string
	// Head is, for a 412 to an append with If-Match, the log's current
	// head (its X-Apie-Hash, else its ETag unquoted); "" when the log is
	// empty or the answer is not a 412.
	Head string
}

// Error says what was asked and what the server answered.
func (e *Error) Error() string {
	s := fmt.Sprintf("apie: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// newError makes the *Error for an answer whose body (up to maxErrorBody)
// is body.
func newError(req *http.Request, resp *http.Response, body []byte) *Error {
	e := &Error{Method: req.Method, Path: req.URL.RequestURI(), Status: resp.StatusCode}
	var j struct {
		Status       string `json:"status"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &j) == nil && j.Status == "error" {
		e.Message = j.ErrorMessage
	} else {
		e.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	if resp.StatusCode == http.StatusPreconditionFailed {
		e.Head = headOf(resp.Header)
	}
	return e
}

// headOf returns the hash in X-Apie-Hash, else in ETag (unquoted).
func headOf(h http.Header) string {
	if v := h.Get("X-Apie-Hash"); v != "" {
		return v
	}
	return strings.Trim(h.Get("ETag"), `"`)
}
