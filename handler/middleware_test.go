package handler

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"apie/auth"
)

func TestRequestLogDestination(t *testing.T) {
	tests := []struct {
		name          string
		separate      bool
		wantInLogger  bool
		wantInRequest bool
	}{
		{name: "RequestLog set: lines go there", separate: true, wantInRequest: true},
		{name: "RequestLog nil: lines go to Logger", separate: false, wantInLogger: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logBuf, reqBuf bytes.Buffer
			opts := Options{Version: "test", LogRequests: true, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}
			if tt.separate {
				opts.RequestLog = slog.New(slog.NewTextHandler(&reqBuf, nil))
			}
			h := New(opts)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /: got %d, want %d", rec.Code, http.StatusOK)
			}
			const want = `msg=request method=GET path=/ status=200 bytes=10`
			for _, c := range []struct {
				name string
				buf  *bytes.Buffer
				want bool
			}{{"Logger", &logBuf, tt.wantInLogger}, {"RequestLog", &reqBuf, tt.wantInRequest}} {
				if got := strings.Contains(c.buf.String(), want); got != c.want {
					t.Errorf("%s: got %q, want a line holding %q: %v", c.name, c.buf.String(), want, c.want)
				}
			}
		})
	}
}

func TestRequestLogNamesUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	err := auth.Update(context.Background(), path, 0, func(p *auth.Passwd) error {
		h, err := auth.HashPassword("pw", 4)
		if err != nil {
			return err
		}
		return p.Add(auth.Entry{Email: "alice@example.com", Hash: h})
	})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := auth.NewChecker(auth.Options{PasswdPath: path, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, password string
		wantStatus     int
		wantUser       string
	}{
		{"authenticated", "pw", http.StatusOK, "user=alice@example.com"},
		{"refused", "wrong", http.StatusUnauthorized, `user=""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reqBuf bytes.Buffer
			h := New(Options{Version: "test", Auth: checker, LogRequests: true, Logger: discardLogger(),
				RequestLog: slog.New(slog.NewTextHandler(&reqBuf, nil))})
			req := httptest.NewRequest(http.MethodGet, "/info", nil)
			req.SetBasicAuth("alice@example.com", tt.password)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantStatus {
				t.Fatalf("GET /info: got %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := reqBuf.String(); !strings.Contains(got, tt.wantUser) {
				t.Errorf("request log: got %q, want it to hold %q", got, tt.wantUser)
			}
		})
	}
}

// BenchmarkRequestLog serves GET / with the request log on, into a text
// handler that discards: the cost of a request's log line.
func BenchmarkRequestLog(b *testing.B) {
	h := New(Options{Version: "bench", LogRequests: true, Logger: discardLogger(),
		RequestLog: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
