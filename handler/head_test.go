package handler_test

import (
	"net/http"
	"testing"
)

// TestHeadEventsContentType checks that HEAD /events announces the type
// GET /events would send for the same Accept header.
func TestHeadEventsContentType(t *testing.T) {
	fx := newFuzzFixture(t)
	for _, accept := range []string{"", "application/json", "application/x-ndjson", "application/jsonl", "*/*"} {
		h := map[string]string{"Accept": accept}
		get := fx.do(t, "GET", "/events", nil, h)
		head := fx.do(t, "HEAD", "/events", nil, h)
		if get.Code != http.StatusOK || head.Code != http.StatusOK {
			t.Fatalf("Accept %q: GET %d, HEAD %d; want 200", accept, get.Code, head.Code)
		}
		if g, h := get.Header().Get("Content-Type"), head.Header().Get("Content-Type"); g != h {
			t.Errorf("Accept %q: HEAD answers Content-Type %q, GET %q", accept, h, g)
		}
	}
}
