// Package handler is apie's HTTP face: the routes of the contract, their
// JSON shapes and status codes, and the one place errors become statuses.
// It never opens a file: it works through the EventLog and BlobStore
// interfaces, which the mains satisfy with filestore, opened lazily so a CGI
// request pays only for the store it uses.
package handler

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"apie/auth"
	"apie/event"
	"apie/filestore"
	"apie/sum"
)

// EventLog is what the handler needs of the event log.
type EventLog interface {
	Head(ctx context.Context) (filestore.Head, error)
	Append(ctx context.Context, req filestore.AppendRequest) (filestore.AppendResult, error)
	Lookup(ctx context.Context, h sum.Hash) (uint64, error)
	Record(ctx context.Context, seq uint64) ([]byte, error)
	Reader(ctx context.Context, first, last uint64) (io.ReadCloser, error)
	Verify(ctx context.Context, fixModes bool) (filestore.LogReport, error)
}

// BlobStore is what the handler needs of the blob store.
type BlobStore interface {
	Put(ctx context.Context, r io.Reader, meta filestore.BlobInfo, want *sum.Hash) (filestore.BlobInfo, bool, error)
	Open(ctx context.Context, h sum.Hash) (*os.File, filestore.BlobInfo, error)
	Delete(ctx context.Context, h sum.Hash) error
	Verify(ctx context.Context, fixModes bool) (filestore.BlobReport, error)
}

var (
	_ EventLog  = (*filestore.EventLog)(nil)
	_ BlobStore = (*filestore.BlobStore)(nil)
)

// Options wires the handler to its stores and settings.
type Options struct {
	Version string
	// OpenLog and OpenBlobs return the stores; they are called at most once
	// per handler and only by routes that need them.
	OpenLog   func(ctx context.Context) (EventLog, error)
	OpenBlobs func(ctx context.Context) (BlobStore, error)
	Auth      *auth.Checker
	// Users changes the passwd file for POST /user/update.
	PasswdPath string
	PasswdMode os.FileMode
	BcryptCost int

	Limits      event.Limits
	BlobBytes   int64
	BlobURL     string         // contentstore.url: base URL for blob links, "" = through apie
	PublicConf  map[string]any // the configuration GET /info shows
	CORSOrigins []string
	Logger      *slog.Logger
	LogRequests bool         // one log line per request (apie-serve)
	RequestLog  *slog.Logger // where those lines go; nil = Logger
	NewID       func() string
}

// Handler serves the apie HTTP API.
type Handler struct {
	opts  Options
	mux   *http.ServeMux
	chain http.Handler

	logOnce  sync.Once
	log      EventLog
	logErr   error
	blobOnce sync.Once
	blobs    BlobStore
	blobErr  error
}

// New returns the handler for opts.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RequestLog == nil {
		opts.RequestLog = opts.Logger
	}
	if opts.NewID == nil {
		opts.NewID = event.NewUUID
	}
	if opts.Limits == (event.Limits{}) {
		opts.Limits = event.DefaultLimits
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	h.routes()
	var chain http.Handler = noteUser(h.mux)
	chain = auth.Middleware(opts.Auth, h.authFailed)(chain)
	chain = h.page(chain)
	chain = h.cors(chain)
	chain = h.recoverPanics(chain)
	if opts.LogRequests {
		chain = h.logRequests(chain)
	}
	h.chain = chain
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.chain.ServeHTTP(w, r)
}

func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /{$}", h.root)
	m.HandleFunc("POST /events", h.appendEvents)
	m.HandleFunc("PUT /events", h.appendEvents)
	m.HandleFunc("GET /events", h.readEvents)
	m.HandleFunc("HEAD /events", h.headEvents)
	m.HandleFunc("GET /events/{hash}", h.getEvent)
	m.HandleFunc("POST /events/verify", h.verifyEvents)
	m.HandleFunc("PUT /storage/{name...}", h.putBlob)
	m.HandleFunc("POST /storage/{name...}", h.putBlob)
	m.HandleFunc("GET /storage/{hash}", h.getBlob)
	m.HandleFunc("DELETE /storage/{hash}", h.deleteBlob)
	m.HandleFunc("POST /storage/verify", h.verifyBlobs)
	m.HandleFunc("GET /info", h.info)
	m.HandleFunc("POST /user/update", h.updateUser)
	m.HandleFunc("POST /auth/token", h.issueToken)
	// Method-less patterns catch other methods on known paths (405) and
	// unknown paths (404), so every error is JSON.
	for path, allow := range map[string]string{
		"/events":            "GET, HEAD, POST, PUT",
		"/events/{hash}":     "GET, HEAD",
		"/storage/{name...}": "GET, HEAD, PUT, POST, DELETE",
		"/info":              "GET, HEAD",
		"/user/update":       "POST",
		"/auth/token":        "POST",
	} {
		m.HandleFunc(path, methodNotAllowed(allow))
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, h.opts.Logger, errRoute)
	})
}

// eventLog opens the event log once.
func (h *Handler) eventLog(ctx context.Context) (EventLog, error) {
	h.logOnce.Do(func() { h.log, h.logErr = h.opts.OpenLog(ctx) })
	return h.log, h.logErr
}

// blobStore opens the blob store once.
func (h *Handler) blobStore(ctx context.Context) (BlobStore, error) {
	h.blobOnce.Do(func() { h.blobs, h.blobErr = h.opts.OpenBlobs(ctx) })
	return h.blobs, h.blobErr
}

func (h *Handler) root(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "Apie "+h.opts.Version+"\n")
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody(r.Method+" is not allowed here; use "+allow))
	}
}
