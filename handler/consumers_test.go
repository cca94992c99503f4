package handler_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"apie/handler"
	"apie/sum"
)

// TestConsumerNames sends names to every consumer route: the rules'
// edges pass, and everything else, path tricks included, is 400 and
// creates nothing.
func TestConsumerNames(t *testing.T) {
	fx := newFuzzFixture(t)
	body := []byte(`{"after":null}`)
	tests := []struct {
		path string // after /consumers/
		want int    // PUT's status
	}{
		{"a", http.StatusCreated},
		{strings.Repeat("x", 128), http.StatusCreated},
		{"A.b_c-9", http.StatusCreated},
		{"...", http.StatusCreated},
		{".hidden", http.StatusCreated},
		{strings.Repeat("x", 129), http.StatusBadRequest},
		{"%2E", http.StatusBadRequest},
		{"%2E%2E", http.StatusBadRequest},
		{".%2E", http.StatusBadRequest},
		{"a%2Fb", http.StatusBadRequest},
		{"a%00", http.StatusBadRequest},
		{"a%20b", http.StatusBadRequest},
		{"caf%C3%A9", http.StatusBadRequest},
		{"a~b", http.StatusBadRequest},
	}
	for _, tt := range tests {
		res := fx.do(t, "PUT", "/consumers/"+tt.path, body, nil)
		checkAnswer(t, tt.path, res)
		if res.Code != tt.want {
			t.Errorf("PUT /consumers/%s: got %d, want %d; %s", tt.path, res.Code, tt.want, res.Body)
		}
		wantGet := http.StatusOK
		if tt.want != http.StatusCreated {
			wantGet = http.StatusBadRequest
		}
		if res := fx.do(t, "GET", "/consumers/"+tt.path, nil, nil); res.Code != wantGet {
			t.Errorf("GET /consumers/%s: got %d, want %d", tt.path, res.Code, wantGet)
		}
	}
	res := fx.do(t, "GET", "/consumers", nil, nil)
	var list []struct{ Name string }
	if err := json.Unmarshal(res.Body.Bytes(), &list); err != nil || len(list) != 5 {
		t.Errorf("GET /consumers: got %s, want the 5 created", res.Body)
	}
}

// TestMoveErrorsChangeNothing checks that a refused move leaves the
// consumer where it was, and that the answers are the contract's.
func TestMoveErrorsChangeNothing(t *testing.T) {
	fx := newFuzzFixture(t)
	at := `{"after":"` + fx.head + `"}`
	if res := fx.do(t, "PUT", "/consumers/w", []byte(at), nil); res.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Code, res.Body)
	}
	tests := []struct {
		name   string
		body   string
		header map[string]string
		want   int
	}{
		{"backward", `{"after":null}`, nil, http.StatusConflict},
		{"backward, force false", `{"after":null,"force":false}`, nil, http.StatusConflict},
		{"stale if-match", `{"after":null,"force":true}`, map[string]string{"If-Match": `"` + sum.Genesis.String() + `"`}, http.StatusPreconditionFailed},
		{"if-none-match on an existing one", `{"after":null,"force":true}`, map[string]string{"If-None-Match": "*"}, http.StatusPreconditionFailed},
		{"if-none-match not *", at, map[string]string{"If-None-Match": `"x"`}, http.StatusBadRequest},
		{"if-match not a hash", at, map[string]string{"If-Match": "*"}, http.StatusBadRequest},
		{"unknown event", `{"after":"` + sum.Of([]byte("x")).String() + `"}`, nil, http.StatusNotFound},
		{"too big", `{"after":null` + strings.Repeat(" ", 5000) + `}`, nil, http.StatusRequestEntityTooLarge},
		{"invalid utf-8", "{\"after\":null,\"\xff\":1}", nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		res := fx.do(t, "PUT", "/consumers/w", []byte(tt.body), tt.header)
		checkAnswer(t, tt.name, res)
		if res.Code != tt.want {
			t.Errorf("%s: got %d, want %d; %s", tt.name, res.Code, tt.want, res.Body)
		}
		get := fx.do(t, "GET", "/consumers/w", nil, nil)
		if etag := get.Header().Get("ETag"); etag != `"`+fx.head+`"` {
			t.Fatalf("%s: after a refused move the consumer is at %s, want %s", tt.name, etag, fx.head)
		}
	}
}

// TestParseMove is the body parser's table.
func TestParseMove(t *testing.T) {
	h := sum.Of([]byte("e")).String()
	tests := []struct {
		body      string
		wantAfter sum.Hash
		wantForce bool
		wantErr   string
	}{
		{`{"after":null}`, sum.Genesis, false, ""},
		{`{"after":"` + h + `","force":true}`, sum.Of([]byte("e")), true, ""},
		{` { "force" : false , "after" : null } `, sum.Genesis, false, ""},
		{`{"after":"` + sum.Genesis.String() + `"}`, sum.Genesis, false, ""},
		{`{}`, sum.Hash{}, false, "after: missing"},
		{`{"after":null,"after":null}`, sum.Hash{}, false, "given twice"},
		{`{"after":null,"x":1}`, sum.Hash{}, false, `unknown member "x"`},
		{`{"after":{}}`, sum.Hash{}, false, "after: want"},
		{`{"after":null,"force":1}`, sum.Hash{}, false, "force: want true or false"},
		{`{"after":null} x`, sum.Hash{}, false, ""},
		{`[{"after":null}]`, sum.Hash{}, false, "want a JSON object"},
		{``, sum.Hash{}, false, "want a JSON object"},
	}
	for _, tt := range tests {
		after, force, err := handler.ParseMove([]byte(tt.body))
		if tt.wantErr == "" && tt.body == `{"after":null} x` {
			if err == nil {
				t.Errorf("%q: got no error", tt.body)
			}
			continue
		}
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: got error %v, want one with %q", tt.body, err, tt.wantErr)
			}
			continue
		}
		if err != nil || after != tt.wantAfter || force != tt.wantForce {
			t.Errorf("%q: got %v %v %v, want %v %v", tt.body, after, force, err, tt.wantAfter, tt.wantForce)
		}
	}
}

// FuzzParseMove: the parser never panics, accepts only valid JSON
// objects, and what it accepts means what encoding/json reads there.
func FuzzParseMove(f *testing.F) {
	for _, s := range []string{`{"after":null}`, `{"after":"` + sum.Genesis.String() + `","force":true}`,
		`{"after":null,"after":null}`, `{"force":false}`, `[]`, `{"after":null}{}`, "{\"after\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		after, force, err := handler.ParseMove(body)
		if err != nil {
			return
		}
		var v struct {
			After *sum.Hash `json:"after"`
			Force bool      `json:"force"`
		}
		if !json.Valid(body) || json.Unmarshal(body, &v) != nil {
			t.Fatalf("accepted %q, which encoding/json refuses", body)
		}
		want := sum.Genesis
		if v.After != nil {
			want = *v.After
		}
		if after != want || force != v.Force {
			t.Fatalf("%q: parsed after %v force %v; encoding/json reads %v %v", body, after, force, want, v.Force)
		}
	})
}

// FuzzConsumerRoutes sends any name, body and If-Match to PUT and GET
// /consumers/<name>: never a 5xx, always a JSON error, and a consumer
// read back is where the PUT's answer said.
func FuzzConsumerRoutes(f *testing.F) {
	f.Add("w", []byte(`{"after":null}`), "")
	f.Add("..", []byte(`{"after":null}`), "")
	f.Add("w", []byte(`{"after":null,"force":true}`), `"`+sum.Genesis.String()+`"`)
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, name string, body []byte, ifMatch string) {
		u := "/consumers/" + url.PathEscape(name)
		var hdr map[string]string
		if ifMatch != "" {
			hdr = map[string]string{"If-Match": ifMatch}
		}
		res := fx.do(t, "PUT", u, body, hdr)
		checkAnswer(t, "PUT "+u, res)
		if res.Code != http.StatusOK && res.Code != http.StatusCreated {
			return
		}
		get := fx.do(t, "GET", u, nil, nil)
		if get.Code != http.StatusOK || get.Header().Get("ETag") != res.Header().Get("ETag") {
			t.Fatalf("PUT %s answered %d with ETag %s; GET answers %d with %s", u, res.Code, res.Header().Get("ETag"), get.Code, get.Header().Get("ETag"))
		}
	})
}
