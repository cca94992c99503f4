package handler

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"apie/auth"
	"apie/event"
	"apie/store"
	"apie/sum"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		msg    string // a part of the message the client sees
	}{
		{"input", &event.InputError{Msg: "duplicate key \"a\""}, 400, "duplicate key"},
		{"too large, bare", fmt.Errorf("event 2 at /secret/path: %w", event.ErrTooLarge), 413, "configured limit"},
		{"too large event", fmt.Errorf("append: %w", &event.LimitError{Msg: "event 2 is 9 bytes, over the limit of 8"}), 413, "event 2 is 9 bytes"},
		{"too large blob", fmt.Errorf("put blob /secret/path/tmp/1.part: %w: more than 8 bytes", store.ErrTooLarge), 413, "configured limit"},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413, "limit"},
		{"precondition", &store.PreconditionError{Head: sum.Genesis}, 412, sum.Genesis.String()},
		{"stream version", fmt.Errorf("append: %w", &store.StreamVersionError{Stream: "/orders/42", Expected: 6, Current: 7}), 412,
			"expectedVersion 6 is not the version of stream /orders/42, which is 7"},
		{"conflict", fmt.Errorf("append: %w", store.ErrConflict), 409, "eventId"},
		{"not found", fmt.Errorf("lookup: %w", store.ErrNotFound), 404, "not found"},
		{"hash mismatch", store.ErrHashMismatch, 400, "do not hash"},
		{"bad name", store.ErrBadName, 400, "filename"},
		{"malformed hash", sum.ErrMalformed, 400, "64 hex"},
		{"disk full", fmt.Errorf("write /srv/x: %w", store.ErrNoSpace), 507, "disk is full"},
		{"throttled", auth.ErrThrottled, 429, "too many"},
		{"unauthorized", auth.ErrUnauthorized, 401, "authentication"},
		{"corrupt", &store.CorruptionError{Path: "/secret/path/log", Offset: 3, Reason: "bad"}, 500, "damaged"},
		{"damaged at a seq", fmt.Errorf("append: %w", &store.CorruptionError{Path: "/secret/path/log", Offset: 3, Seq: 250, Reason: "bad"}),
			500, "damaged at seq 250; appends are refused until verify passes"},
		{"damaged consumer", fmt.Errorf("get consumer w: %w", &store.ConsumerDamagedError{Name: "w",
			Err: &store.CorruptionError{Path: "/secret/path/slots", Offset: 512, Reason: "both slots bad"}}),
			500, `consumer w is damaged (its stored position cannot be read); the admin command "consumer rm w" removes it`},
		{"damaged consumer, name unreadable", fmt.Errorf("list consumers: %w", &store.ConsumerDamagedError{
			Err: &store.CorruptionError{Path: "/secret/path/slots", Offset: 512, Reason: "both slots bad"}}),
			500, "a consumer whose name is unreadable is damaged; run verify"},
		{"sticky", store.ErrWriteFailed, 503, "earlier write failed"},
		{"unavailable", fmt.Errorf("postgres event log: %w: dial unix /secret/path/.s.PGSQL.5432: connection refused", store.ErrUnavailable),
			503, "retry it with the same eventIds"},
		{"internal", errors.New("open /secret/path: permission denied"), 500, "internal error"},
		{"passwd unreadable", fmt.Errorf("check credentials: %w: %w", auth.ErrPasswdFile,
			&fs.PathError{Op: "open", Path: "/secret/path/passwd", Err: syscall.EACCES}), 500, "cannot read its users file: check the owner and mode"},
		{"passwd not writable", fmt.Errorf("update passwd: %w: %w", auth.ErrPasswdFile,
			&fs.PathError{Op: "open", Path: "/secret/path/passwd.lock", Err: syscall.EACCES}), 500, "users file"},
		{"token key", fmt.Errorf("issue token: %w: %w", auth.ErrTokenKeyFile,
			&fs.PathError{Op: "open", Path: "/secret/path/.token.key.tmp-1", Err: syscall.EACCES}), 500, "cannot read or make its token key"},
		{"store unreadable", fmt.Errorf("stat log directory: %w",
			&fs.PathError{Op: "stat", Path: "/secret/path/events", Err: syscall.EACCES}), 500, "cannot open its data files"},
		{"chmod refused", fmt.Errorf("set mode: %w", &fs.PathError{Op: "chmod", Path: "/secret/path/blobs/00", Err: syscall.EPERM}),
			500, "Permissions section"},
		{"passwd other fault", fmt.Errorf("check credentials: %w: %w", auth.ErrPasswdFile, errors.New("/secret/path/passwd:3: bad line")),
			500, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := statusOf(tt.err)
			if status != tt.status {
				t.Errorf("got status %d, want %d", status, tt.status)
			}
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("got message %q, want it to contain %q", msg, tt.msg)
			}
			if strings.Contains(msg, "/secret/") {
				t.Errorf("message %q leaks a server path", msg)
			}
		})
	}
}

// TestWriteErrorCorruption: damage reaches the client through writeError,
// like every error: a 500 naming the first bad seq in the body.
func TestWriteErrorCorruption(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/events/verify", nil)
	err := fmt.Errorf("verify: %w", &store.CorruptionError{Path: "/secret/path/log", Offset: 40, Seq: 3, Reason: "record holds seq 4"})
	writeError(rec, req, discardLogger(), err)
	want := `{"status":"error","errorMessage":"the event log is damaged at seq 3; appends are refused until verify passes (see the README, Damage, and the server log)","seq":3}` + "\n"
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != want {
		t.Errorf("got %d %q, want 500 %q", rec.Code, rec.Body.String(), want)
	}
}

func TestWriteErrorHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/events", nil)
	writeError(rec, req, discardLogger(), auth.ErrUnauthorized)
	if got, want := rec.Header().Get("WWW-Authenticate"), `Basic realm="Apie"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("got content type %q", got)
	}
	if got, want := rec.Body.String(), `{"status":"error","errorMessage":"authentication required"}`+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	rec = httptest.NewRecorder()
	writeError(rec, req, discardLogger(), &store.PreconditionError{Head: sum.Genesis})
	if got := rec.Header().Get("X-Apie-Hash"); got != sum.Genesis.String() {
		t.Errorf("412 X-Apie-Hash: got %q", got)
	}
	if got := rec.Header().Get("ETag"); got != `"`+sum.Genesis.String()+`"` {
		t.Errorf("412 ETag: got %q", got)
	}
	rec = httptest.NewRecorder()
	writeError(rec, req, discardLogger(), auth.ErrThrottled)
	if got, want := rec.Header().Get("Retry-After"), "30"; rec.Code != 429 || got != want {
		t.Errorf("throttled: got %d, Retry-After %q; want 429, %q (the backoff)", rec.Code, got, want)
	}
	rec = httptest.NewRecorder()
	writeError(rec, req, discardLogger(), fmt.Errorf("append: %w", store.ErrUnavailable))
	if got, want := rec.Header().Get("Retry-After"), "2"; rec.Code != 503 || got != want {
		t.Errorf("unavailable: got %d, Retry-After %q; want 503, %q", rec.Code, got, want)
	}
}

func TestSetHeadHeaders(t *testing.T) {
	for _, h := range []sum.Hash{sum.Genesis, sum.Of([]byte("x")), {}} {
		t.Run(h.String()[:8], func(t *testing.T) {
			rec := httptest.NewRecorder()
			got := setHeadHeaders(rec, h)
			if got != h.String() {
				t.Errorf("returned %q, want %q", got, h.String())
			}
			if got, want := rec.Header().Get("ETag"), `"`+h.String()+`"`; got != want {
				t.Errorf("ETag: got %q, want %q", got, want)
			}
			if got, want := rec.Header().Get("X-Apie-Hash"), h.String(); got != want {
				t.Errorf("X-Apie-Hash: got %q, want %q", got, want)
			}
			rec.Header().Add("X-Apie-Hash", "more") // must not write into the ETag's value
			if got, want := rec.Header().Values("ETag"), []string{`"` + h.String() + `"`}; len(got) != 1 || got[0] != want[0] {
				t.Errorf("ETag after adding to X-Apie-Hash: got %q, want %q", got, want)
			}
		})
	}
}

// TestWriteErrorStreamVersion: a stale expectedVersion answers 412 with
// the stream and its current version in the body, 0 included.
func TestWriteErrorStreamVersion(t *testing.T) {
	for _, cur := range []uint64{0, 7} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/events", nil)
		writeError(w, r, nil, fmt.Errorf("append: %w", &store.StreamVersionError{Stream: "/orders/42", Expected: 9, Current: cur}))
		if w.Code != http.StatusPreconditionFailed {
			t.Fatalf("status %d", w.Code)
		}
		want := fmt.Sprintf(`"stream":"/orders/42","currentVersion":%d}`, cur)
		if !strings.Contains(w.Body.String(), want) || !strings.Contains(w.Body.String(), `"status":"error"`) {
			t.Errorf("body %s, want it to end with %s", w.Body, want)
		}
	}
}
