package handler

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"apie/auth"
)

type baseKey struct{}

// WithBase records the URL prefix under which the API is mounted (under
// CGI, the script's own path), so Location and Link headers point back
// through it.
func WithBase(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, baseKey{}, strings.TrimSuffix(base, "/"))
}

func basePath(r *http.Request) string {
	b, _ := r.Context().Value(baseKey{}).(string)
	return b
}

func (h *Handler) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, h.opts.Logger, err)
}

// cors answers preflights and marks responses for allowed origins. It runs
// before auth: browsers send no credentials on a preflight.
func (h *Handler) cors(next http.Handler) http.Handler {
	if len(h.opts.CORSOrigins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || !(slices.Contains(h.opts.CORSOrigins, origin) || slices.Contains(h.opts.CORSOrigins, "*")) {
			next.ServeHTTP(w, r)
			return
		}
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Credentials", "true")
		hd.Add("Vary", "Origin")
		hd.Set("Access-Control-Expose-Headers", "ETag, X-Apie-Hash, X-Apie-Count, Link, Location")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE")
			hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match, Range, Accept")
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a JSON 500 and a log line, never a
// stack trace to the client.
func (h *Handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.opts.Logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeJSON(w, http.StatusInternalServerError, errorBody("internal error (see the server log)"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter records what a response sent, and who asked, for the
// request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	user   string // the authenticated user, set by noteUser
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests writes one line per request to RequestLog: method, path,
// status, bytes, duration and user. Never credentials. The record goes
// to the logger's handler directly, without the caller's program counter
// (slog.Logger would take a stack trace for it on every request; the line
// never shows it).
func (h *Handler) logRequests(next http.Handler) http.Handler {
	log := h.opts.RequestLog.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		ctx := r.Context()
		if !log.Enabled(ctx, slog.LevelInfo) {
			return
		}
		end := time.Now()
		rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
		rec.AddAttrs(slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes), slog.Duration("duration", end.Sub(start).Round(time.Microsecond)),
			slog.String("user", sw.user))
		log.Handle(ctx, rec)
	})
}

// ReadFrom keeps sendfile working through the wrapper.
func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(s.ResponseWriter, src)
	}
	s.bytes += n
	return n, err
}

// noteUser copies the authenticated user into the request log's
// statusWriter (the middleware between them pass w on as it is).
func noteUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			if u, ok := auth.FromContext(r.Context()); ok {
				sw.user = u.Email
			}
		}
		next.ServeHTTP(w, r)
	})
}
