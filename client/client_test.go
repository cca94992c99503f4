package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"apie/client"
	"apie/internal/apietest"
)

const (
	user     = "alice@example.org"
	password = "correct horse battery staple"
)

// fastRetry keeps the retry tests quick: three tries, a millisecond apart.
var fastRetry = client.WithRetry(client.Retry{Attempts: 3, Wait: time.Millisecond, MaxWait: 5 * time.Millisecond})

// start serves an in-process apie with the user alice, its handler
// wrapped by wrap (nil: none), and returns a client for it.
func start(t *testing.T, wrap func(http.Handler) http.Handler) (*client.Client, *apietest.Server) {
	t.Helper()
	srv := apietest.Start(t, apietest.Options{Users: []apietest.User{{Email: user, Password: password}}, Wrap: wrap})
	c, err := client.New(srv.URL, client.WithBasicAuth(user, password), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// fault is a handler wrapper that spoils the first n requests for
// POST /events (or every one, with n < 0) in one way, and counts them all.
type fault struct {
	n     int64
	spoil func(w http.ResponseWriter, r *http.Request, next http.Handler)
	seen  atomic.Int64 // POST /events requests
}

func (f *fault) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/events" {
			next.ServeHTTP(w, r)
			return
		}
		if i := f.seen.Add(1); f.n < 0 || i <= f.n {
			f.spoil(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unavailable answers 503 without reaching apie.
func unavailable(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	w.Write([]byte(`{"status":"error","errorMessage":"try again"}`))
}

// storeThenDrop lets apie store the request, then closes the connection
// without an answer: the answer is lost after the write.
func storeThenDrop(w http.ResponseWriter, r *http.Request, next http.Handler) {
	next.ServeHTTP(httptest.NewRecorder(), r)
	drop(w, r, nil)
}

// drop closes the connection without reading or answering the request.
func drop(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// TestAppendRetries: an append whose first tries fail is retried with the
// same eventIds, and each event is stored exactly once; a 4xx is never
// retried.
func TestAppendRetries(t *testing.T) {
	cases := []struct {
		name       string
		f          *fault
		body       string
		wantStatus int // of the append's answer, or of its *Error
		wantTries  int64
		wantCount  uint64 // events in the log after
	}{
		{"503 once", &fault{n: 1, spoil: unavailable}, `{"milk":1}`, http.StatusCreated, 2, 1},
		{"connection dropped before the write", &fault{n: 1, spoil: drop}, `{"milk":1}`, http.StatusCreated, 2, 1},
		{"connection dropped after the write", &fault{n: 1, spoil: storeThenDrop}, `{"milk":1}`, http.StatusOK, 2, 1},
		{"dropped twice after the write", &fault{n: 2, spoil: storeThenDrop}, `{"milk":1}`, http.StatusOK, 3, 1},
		{"503 on every try: gives up after Attempts", &fault{n: -1, spoil: unavailable}, `{"milk":1}`, http.StatusServiceUnavailable, 3, 0},
		{"400 is not retried", &fault{}, `{"n":9007199254740993}`, http.StatusBadRequest, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := start(t, tc.f.wrap)
			ctx := t.Context()
			got, err := c.Append(ctx, []client.NewEvent{{EventType: "todo.added", Body: []byte(tc.body)}}, client.AppendOptions{})
			status := got.Status
			if e, ok := errors.AsType[*client.Error](err); ok {
				status = e.Status
			} else if err != nil {
				t.Fatalf("append: %v", err)
			}
			if status != tc.wantStatus {
				t.Errorf("got status %d, want %d (err %v)", status, tc.wantStatus, err)
			}
			if n := tc.f.seen.Load(); n != tc.wantTries {
				t.Errorf("got %d tries, want %d", n, tc.wantTries)
			}
			head, err := c.Head(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if head.Count != tc.wantCount {
				t.Errorf("got %d events in the log, want %d", head.Count, tc.wantCount)
			}
			if err == nil && len(got.Events) == 1 && got.Events[0].Hash != head.Hash {
				t.Errorf("got stored hash %s, want the head %s", got.Events[0].Hash, head.Hash)
			}
		})
	}
}

// TestAppendKeepsEventIDs: events without an eventId get a fresh one,
// events with one keep it, and the caller's slice is not changed.
func TestAppendKeepsEventIDs(t *testing.T) {
	c, _ := start(t, nil)
	const mine = "0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01"
	evs := []client.NewEvent{{EventType: "a", Body: []byte("1")}, {EventID: mine, EventType: "b", Body: []byte("2")}}
	got, err := c.Append(t.Context(), evs, client.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != http.StatusCreated || len(got.Events) != 2 {
		t.Fatalf("got status %d and %d events, want 201 and 2", got.Status, len(got.Events))
	}
	if evs[0].EventID != "" {
		t.Errorf("Append changed the caller's event: eventId %q", evs[0].EventID)
	}
	if id := got.Events[0].EventID; len(id) != 36 || id == mine {
		t.Errorf("got eventId %q for the event without one, want a fresh UUID", id)
	}
	if got.Events[1].EventID != mine {
		t.Errorf("got eventId %q, want the caller's %q", got.Events[1].EventID, mine)
	}
	if got.Head != got.Events[1].Hash || got.Events[1].PrevHash != got.Events[0].Hash {
		t.Errorf("head %s, events %s <- %s: want a chain ending at the head", got.Head, got.Events[0].Hash, got.Events[1].PrevHash)
	}
	// The same request again: 200, the stored events, nothing new.
	again, err := c.Append(t.Context(), []client.NewEvent{evs[1]}, client.AppendOptions{IfMatch: client.Genesis})
	if err != nil || again.Status != http.StatusOK || again.Events[0].Hash != got.Events[1].Hash {
		t.Errorf("retry: got %+v, %v; want 200 with the stored event", again, err)
	}
}

// TestAppendErrors: refusals come back as *Error with the server's status
// and message, and a 412 carries the current head.
func TestAppendErrors(t *testing.T) {
	c, _ := start(t, nil)
	ctx := t.Context()
	first, err := c.Append(ctx, []client.NewEvent{{EventID: "0b6d4a3e-58f3-4c1b-9a57-7d0c2f3e1a01", EventType: "a", Body: []byte("1")}}, client.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		evs      []client.NewEvent
		opts     client.AppendOptions
		status   int
		wantHead string
	}{
		{"If-Match of the empty log", []client.NewEvent{{EventType: "x", Body: []byte("1")}}, client.AppendOptions{IfMatch: client.Genesis},
			http.StatusPreconditionFailed, first.Head},
		{"If-Match of an unknown hash", []client.NewEvent{{EventType: "x", Body: []byte("1")}}, client.AppendOptions{IfMatch: `"` + first.Events[0].BodyHash + `"`},
			http.StatusPreconditionFailed, first.Head},
		{"an eventId stored with other content", []client.NewEvent{{EventID: first.Events[0].EventID, EventType: "a", Body: []byte("2")}}, client.AppendOptions{},
			http.StatusConflict, ""},
		{"an empty eventType", []client.NewEvent{{Body: []byte("1")}}, client.AppendOptions{}, http.StatusBadRequest, ""},
		{"no events", nil, client.AppendOptions{}, http.StatusBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Append(ctx, tc.evs, tc.opts)
			e, ok := errors.AsType[*client.Error](err)
			if !ok {
				t.Fatalf("got %v, want a *client.Error", err)
			}
			if e.Status != tc.status || e.Head != tc.wantHead || e.Message == "" {
				t.Errorf("got status %d, head %q, message %q; want %d, head %q and a message", e.Status, e.Head, e.Message, tc.status, tc.wantHead)
			}
			if e.Method != http.MethodPost || e.Path != "/events" {
				t.Errorf("got %s %s, want POST /events", e.Method, e.Path)
			}
		})
	}
	if head, err := c.Head(ctx); err != nil || head.Count != 1 {
		t.Errorf("got %+v, %v; want the one event, nothing written by the refusals", head, err)
	}
}

// TestRetryStopsWithTheContext: a context that ends while a retry waits
// ends the call with the context's error, without another try.
func TestRetryStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	f := &fault{n: -1, spoil: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		cancel()
		unavailable(w, r, next)
	}}
	srv := apietest.Start(t, apietest.Options{Users: []apietest.User{{Email: user, Password: password}}, Wrap: f.wrap})
	c, err := client.New(srv.URL, client.WithBasicAuth(user, password),
		client.WithRetry(client.Retry{Attempts: 5, Wait: time.Hour, MaxWait: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Append(ctx, []client.NewEvent{{EventType: "x", Body: []byte("1")}}, client.AppendOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if n := f.seen.Load(); n != 1 {
		t.Errorf("got %d tries, want 1", n)
	}
}

// TestAuth: a wrong password is a 401 *Error, not retried; a token from
// Token authenticates, and cannot be used to get another one.
func TestAuth(t *testing.T) {
	c, srv := start(t, nil)
	ctx := t.Context()
	var tries atomic.Int64
	counted := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		tries.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	wrong, err := client.New(srv.URL, client.WithBasicAuth(user, "wrong"), client.WithHTTPClient(counted), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Head(ctx)
	if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: got %v, want a 401 *client.Error", err)
	}
	if n := tries.Load(); n != 1 {
		t.Errorf("wrong password: got %d tries, want 1", n)
	}
	tok, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Expires.After(time.Now()) {
		t.Errorf("token expires %s, want the future", tok.Expires)
	}
	bearer := c.With(client.WithBearerToken(tok.Token))
	got, err := bearer.Append(ctx, []client.NewEvent{{EventType: "via.token", Body: []byte("1")}}, client.AppendOptions{})
	if err != nil || got.Events[0].CreatedBy != user {
		t.Fatalf("append with the token: got %+v, %v; want an event by %s", got, err, user)
	}
	if _, err := bearer.Token(ctx); err == nil {
		t.Errorf("Token with a token: got no error, want 403")
	} else if e, ok := errors.AsType[*client.Error](err); !ok || e.Status != http.StatusForbidden {
		t.Errorf("Token with a token: got %v, want a 403 *client.Error", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
