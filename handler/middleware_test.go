package handler

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
