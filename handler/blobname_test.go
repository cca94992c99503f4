package handler_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBlobFilenameMessages checks that a refused filename is told why,
// the length limit with its number.
func TestBlobFilenameMessages(t *testing.T) {
	fx := newFuzzFixture(t)
	tests := []struct {
		name   string
		status int
		msg    string
	}{
		{strings.Repeat("a", 255), http.StatusCreated, ""},
		{strings.Repeat("é", 127) + "a", http.StatusCreated, ""},
		{strings.Repeat("a", 256), http.StatusBadRequest, "filename is 256 bytes, over the limit of 255"},
		{strings.Repeat("a", 300), http.StatusBadRequest, "filename is 300 bytes, over the limit of 255"},
		{strings.Repeat("é", 128) + "a", http.StatusBadRequest, "filename is 257 bytes, over the limit of 255"},
		{"a\x01b", http.StatusBadRequest, "at most 255 bytes"},
		{"a/b", http.StatusBadRequest, "at most 255 bytes"},
	}
	for _, tt := range tests {
		u := &url.URL{Path: "/storage/" + tt.name, RawPath: "/storage/" + strings.ReplaceAll(url.PathEscape(tt.name), "%2F", "%2f")}
		res := fx.doURL("PUT", u, []byte("bytes of "+tt.name), nil)
		if res.Code != tt.status || !strings.Contains(res.Body.String(), tt.msg) {
			t.Errorf("PUT /storage/%.20s… (%d bytes): got %d %s, want %d with %q", tt.name, len(tt.name), res.Code, res.Body, tt.status, tt.msg)
		}
	}
}
