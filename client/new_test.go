package client_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"apie/client"
)

// TestNew: the base URL must be http(s) with a host and nothing the
// client adds itself.
func TestNew(t *testing.T) {
	cases := []struct {
		base, want string // want "" for an error
	}{
		{"http://127.0.0.1:8000", "http://127.0.0.1:8000"},
		{"https://example.org/cgi-bin/apie-cgi/", "https://example.org/cgi-bin/apie-cgi"},
		{"ftp://example.org", ""},
		{"example.org", ""},
		{"http://alice:pw@example.org", ""},
		{"http://example.org/?x=1", ""},
		{"http://[::1", ""},
	}
	for _, tc := range cases {
		c, err := client.New(tc.base)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("New(%q): got no error", tc.base)
		case tc.want != "" && err != nil:
			t.Errorf("New(%q): %v", tc.base, err)
		case tc.want != "" && c.BaseURL() != tc.want:
			t.Errorf("New(%q): base %q, want %q", tc.base, c.BaseURL(), tc.want)
		}
	}
}

// TestNewRequest: paths hang from the base URL, absolute URLs only on its
// origin, and the credentials are set.
func TestNewRequest(t *testing.T) {
	c, err := client.New("https://example.org/cgi-bin/apie-cgi", client.WithBasicAuth("a@example.org", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ref, want string // want "" for an error
	}{
		{"/events?limit=2", "https://example.org/cgi-bin/apie-cgi/events?limit=2"},
		{"", "https://example.org/cgi-bin/apie-cgi"},
		{"/storage/..%2f", "https://example.org/cgi-bin/apie-cgi/storage/..%2f"},
		{"https://example.org/cgi-bin/apie-cgi/events?after=x", "https://example.org/cgi-bin/apie-cgi/events?after=x"},
		{"https://evil.example/events", ""},
		{"http://example.org/events", ""},
		{"events", ""},
	}
	for _, tc := range cases {
		req, err := c.NewRequest(context.Background(), http.MethodGet, tc.ref, nil)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%q: got %s, want an error", tc.ref, req.URL)
		case tc.want != "" && err != nil:
			t.Errorf("%q: %v", tc.ref, err)
		case tc.want != "" && req.URL.String() != tc.want:
			t.Errorf("%q: got %s, want %s", tc.ref, req.URL, tc.want)
		case tc.want != "":
			if u, p, ok := req.BasicAuth(); !ok || u != "a@example.org" || p != "pw" {
				t.Errorf("%q: got basic auth %q %q %v", tc.ref, u, p, ok)
			}
		}
	}
	if req, _ := c.With(client.WithBearerToken("tok")).NewRequest(context.Background(), http.MethodGet, "/info", nil); req.Header.Get("Authorization") != "Bearer tok" {
		t.Errorf("With a token: got Authorization %q", req.Header.Get("Authorization"))
	}
}

// TestDo: a raw request goes out as built, and its answer comes back
// whatever its status.
func TestDo(t *testing.T) {
	c, _ := start(t, nil)
	req, err := c.NewRequest(t.Context(), http.MethodPost, "/events", strings.NewReader(`{"eventType":`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"status":"error"`) {
		t.Errorf("got %d %s, want apie's 400", resp.StatusCode, body)
	}
}

// TestNewEventID: version 4 UUIDs in lower case, all different.
func TestNewEventID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := client.NewEventID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("got %q: want a new version 4 UUID", id)
		}
		seen[id] = true
	}
}
