package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMiddleware(t *testing.T) {
	f := newFixture(t, Options{Throttle: true})
	var failed error
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		failed = err
		w.WriteHeader(http.StatusUnauthorized)
	}
	var seen User
	var hadUser bool
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, hadUser = FromContext(r.Context())
		w.WriteHeader(http.StatusTeapot)
	})
	root := func(r *http.Request) bool { return r.URL.Path == "/" && r.Method != http.MethodPost }
	h := Middleware(f.c, root, fail)(next)
	tests := []struct {
		method, path, auth string
		wantCode           int
		wantUser           string
		wantErr            error
	}{
		{"GET", "/", "", http.StatusTeapot, "", nil},
		{"HEAD", "/", "", http.StatusTeapot, "", nil},
		{"POST", "/", "", http.StatusUnauthorized, "", ErrUnauthorized},
		{"GET", "/info", "", http.StatusUnauthorized, "", ErrUnauthorized},
		{"GET", "/events", "", http.StatusUnauthorized, "", ErrUnauthorized},
		{"GET", "//", "", http.StatusUnauthorized, "", ErrUnauthorized},
		{"GET", "/events", basic("bob", "wrong"), http.StatusUnauthorized, "", ErrUnauthorized},
		{"GET", "/events", basic("bob", "hunter2"), http.StatusTeapot, "bob", nil},
		{"GET", "/", basic("bob", "hunter2"), http.StatusTeapot, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.auth, func(t *testing.T) {
			failed, seen, hadUser = nil, User{}, false
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantCode {
				t.Errorf("got status %d, want %d", w.Code, tt.wantCode)
			}
			if !errors.Is(failed, tt.wantErr) || (tt.wantErr == nil && failed != nil) {
				t.Errorf("got fail error %v, want %v", failed, tt.wantErr)
			}
			if seen.Email != tt.wantUser || hadUser != (tt.wantUser != "") {
				t.Errorf("got user %q (%v), want %q", seen.Email, hadUser, tt.wantUser)
			}
		})
	}
}

func TestMiddlewareThrottlesByHost(t *testing.T) {
	f := newFixture(t, Options{Throttle: true})
	var failed error
	none := func(*http.Request) bool { return false }
	h := Middleware(f.c, none, func(w http.ResponseWriter, r *http.Request, err error) { failed = err })(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	do := func(remote, auth string) error {
		failed = nil
		r := httptest.NewRequest("GET", "/events", nil)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", auth)
		h.ServeHTTP(httptest.NewRecorder(), r)
		return failed
	}
	// Different ports, same host: one client.
	for i := range throttleUserLimit {
		do("198.51.100.1:"+string(rune('1'+i))+"000", basic("bob", "wrong"))
	}
	if err := do("198.51.100.1:9999", basic("bob", "hunter2")); !errors.Is(err, ErrThrottled) {
		t.Errorf("got %v, want %v", err, ErrThrottled)
	}
	if err := do("[2001:db8::1]:443", basic("bob", "hunter2")); err != nil {
		t.Errorf("other host: got %v, want success", err)
	}
}

func TestContextUser(t *testing.T) {
	ctx := t.Context()
	if _, ok := FromContext(ctx); ok {
		t.Error("user in a bare context")
	}
	want := User{Email: "a@x", Info: "i"}
	if got, ok := FromContext(WithUser(ctx, want)); !ok || got != want {
		t.Errorf("got %q, %v; want %q, true", got, ok, want)
	}
}
