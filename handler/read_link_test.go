package handler_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// linkNext takes the target out of a Link: <…>; rel="next" header.
var linkNext = regexp.MustCompile(`^<([^>]*)>; rel="next"$`)

// TestReadLinkKeepsTheBounds follows the Link rel="next" chain of paged
// reads and checks that the pages hold exactly the range asked for: the
// next link keeps to= (and every parameter but the start), so following
// it never runs past the end of the range.
func TestReadLinkKeepsTheBounds(t *testing.T) {
	fx := newFuzzFixture(t)
	for i := range 8 {
		if res := fx.do(t, "POST", "/events", []byte(`{"eventType":"t","body":`+string(rune('0'+i))+`}`), nil); res.Code != http.StatusCreated {
			t.Fatalf("append: %d %s", res.Code, res.Body)
		}
	}
	all := readHashes(t, fx, "/events")
	if len(all) != 9 {
		t.Fatalf("the log holds %d events, want 9", len(all))
	}
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"from and to", "from=" + all[1] + "&to=" + all[5] + "&limit=2", all[1:6]},
		{"after and to", "after=" + all[1] + "&to=" + all[6] + "&limit=2", all[2:7]},
		{"to alone", "to=" + all[4] + "&limit=2", all[:5]},
		{"to at a page's end", "to=" + all[3] + "&limit=2", all[:4]},
		{"limit alone", "limit=4", all},
		{"a range shorter than the limit", "from=" + all[2] + "&to=" + all[3] + "&limit=5", all[2:4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			next := "/events?" + tt.query
			for pages := 0; next != ""; pages++ {
				if pages > len(all) {
					t.Fatalf("more pages than events: the Link chain does not end")
				}
				res := fx.do(t, "GET", next, nil, nil)
				if res.Code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", next, res.Code, res.Body)
				}
				got = append(got, hashesOf(t, res.Body.Bytes())...)
				next = ""
				if link := res.Header().Get("Link"); link != "" {
					m := linkNext.FindStringSubmatch(link)
					if m == nil {
						t.Fatalf("Link %q is not <…>; rel=\"next\"", link)
					}
					if strings.Contains(tt.query, "to=") && !strings.Contains(m[1], "to=") {
						t.Errorf("Link %q drops to=", link)
					}
					next = m[1]
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pages hold %d events %q, want %d %q", len(got), got, len(tt.want), tt.want)
			}
		})
	}
}

// readHashes returns the hashes of the events GET target answers.
func readHashes(t *testing.T, fx *fuzzFixture, target string) []string {
	t.Helper()
	res := fx.do(t, "GET", target, nil, nil)
	if res.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, res.Code, res.Body)
	}
	return hashesOf(t, res.Body.Bytes())
}

func hashesOf(t *testing.T, body []byte) []string {
	t.Helper()
	var evs []struct {
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(body, &evs); err != nil {
		t.Fatalf("not an array of events: %v: %s", err, body)
	}
	hs := make([]string, len(evs))
	for i, e := range evs {
		hs[i] = e.Hash
	}
	return hs
}
