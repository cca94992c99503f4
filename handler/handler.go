// Package handler is apie's HTTP face: the routes of the contract, their
// JSON shapes and status codes, and the one place errors become statuses.
// It never opens a file: it works through the store.EventLog and
// store.BlobStore interfaces, which the mains satisfy with the file stores,
// opened lazily so a CGI request pays only for the store it uses.
package handler

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"

	"apie/auth"
	"apie/event"
	"apie/store"
)

// Options wires the handler to its stores and settings.
type Options struct {
	Version string
	// OpenLog and OpenBlobs return the stores; they are called at most once
	// per handler and only by routes that need them.
	OpenLog   func(ctx context.Context) (store.EventLog, error)
	OpenBlobs func(ctx context.Context) (store.BlobStore, error)
	Auth      *auth.Checker
	Users     *auth.Users // changed by POST /user/update

	Limits      event.Limits
	BlobBytes   int64
	BlobURL     string         // contentstore.url: base URL for blob links, "" = through apie
	PublicConf  map[string]any // the configuration GET /info shows
	CORSOrigins []string
	Admins      []string // users who may erase (apie.json "admins")
	Logger      *slog.Logger
	LogRequests bool         // one log line per request (apie-serve)
	RequestLog  *slog.Logger // where those lines go; nil = Logger
	NewID       func() string

	// OpenConsumers returns the consumer store, called at most once like
	// OpenLog; nil means the handler keeps no consumers (their routes
	// answer 404).
	OpenConsumers func(ctx context.Context) (store.ConsumerStore, error)
	// Live configures follow=true and wait=N reads (live.go).
	Live LiveOptions
}

// Handler serves the apie HTTP API.
type Handler struct {
	opts  Options
	mux   *http.ServeMux
	chain http.Handler

	logOnce  sync.Once
	log      store.EventLog
	logErr   error
	blobOnce sync.Once
	blobs    store.BlobStore
	blobErr  error
	consOnce sync.Once
	cons     store.ConsumerStore
	consErr  error

	live     LiveOptions // opts.Live with its defaults
	stopping stopSignal  // closed by StopFollowers
	share    liveShare   // what followers share (live_share.go)
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
	h := &Handler{opts: opts, mux: http.NewServeMux(), live: opts.Live.withDefaults()}
	h.routes()
	var chain http.Handler = noteUser(h.cleanPaths(h.mux))
	chain = auth.Middleware(opts.Auth, isPublic, h.authFailed)(chain)
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
	m.HandleFunc("POST /events/{hash}/erase", h.eraseEvent)
	m.HandleFunc("/events/{hash}/erase", methodNotAllowed("POST"))
	m.HandleFunc("PUT /storage/{name...}", h.putBlob)
	m.HandleFunc("POST /storage/{name...}", h.putBlob)
	// /storage itself is /storage/, without the mux's redirect to it.
	m.HandleFunc("PUT /storage", h.putBlob)
	m.HandleFunc("POST /storage", h.putBlob)
	m.HandleFunc("GET /storage/{hash}", h.getBlob)
	m.HandleFunc("DELETE /storage/{hash}", h.deleteBlob)
	m.HandleFunc("POST /storage/verify", h.verifyBlobs)
	h.consumerRoutes(m)
	m.HandleFunc("GET /streams", h.listStreams)
	m.HandleFunc("GET /info", h.info)
	m.HandleFunc("POST /user/update", h.updateUser)
	m.HandleFunc("POST /auth/token", h.issueToken)
	// A verify path is no event or blob hash: GET, HEAD and DELETE there
	// are the wrong method, not a malformed hash.
	m.HandleFunc("GET /events/verify", methodNotAllowed("POST"))
	m.HandleFunc("GET /storage/verify", methodNotAllowed("PUT, POST"))
	m.HandleFunc("DELETE /storage/verify", methodNotAllowed("PUT, POST"))
	// GET and DELETE take one hash segment; any other path under
	// /storage/ (none, or several: ../passwd) names no blob.
	m.HandleFunc("GET /storage/{name...}", h.noBlob)
	m.HandleFunc("DELETE /storage/{name...}", h.noBlob)
	// Method-less patterns catch other methods on known paths (405) and
	// unknown paths (404), so every error is JSON. Allow lists exactly the
	// methods the path answers.
	m.HandleFunc("/{$}", methodNotAllowed("GET, HEAD"))
	m.HandleFunc("/events", methodNotAllowed("GET, HEAD, POST, PUT"))
	m.HandleFunc("/storage", methodNotAllowed("PUT, POST"))
	m.HandleFunc("/events/{hash}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("hash") == "verify" {
			methodNotAllowed("POST")(w, r)
			return
		}
		methodNotAllowed("GET, HEAD")(w, r)
	})
	m.HandleFunc("/storage/{name...}", func(w http.ResponseWriter, r *http.Request) {
		switch name := r.PathValue("name"); {
		case name == "verify", name == "", strings.Contains(name, "/"):
			methodNotAllowed("PUT, POST")(w, r)
		default:
			methodNotAllowed("GET, HEAD, PUT, POST, DELETE")(w, r)
		}
	})
	m.HandleFunc("/info", methodNotAllowed("GET, HEAD"))
	m.HandleFunc("/streams", methodNotAllowed("GET, HEAD"))
	m.HandleFunc("/user/update", methodNotAllowed("POST"))
	m.HandleFunc("/auth/token", methodNotAllowed("POST"))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, h.opts.Logger, errRoute)
	})
}

// noBlob answers a GET, HEAD or DELETE under /storage/ whose path is not
// one hash.
func (h *Handler) noBlob(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, h.opts.Logger, errNoBlob)
}

// cleanPaths redirects a request whose path is not clean (a "." or ".."
// segment, a doubled slash) to the clean path, as net/http's mux would,
// but through the base the API is mounted under: under CGI the mux's own
// redirect would point at the site's root, not back through the script.
func (h *Handler) cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if c := cleanPath(p); c != p {
			loc := basePath(r) + c
			if r.URL.RawQuery != "" {
				loc += "?" + r.URL.RawQuery
			}
			w.Header().Set("Location", loc)
			writeJSON(w, http.StatusTemporaryRedirect, map[string]string{"status": "ok", "location": loc})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath is p without "." and ".." segments and doubled slashes,
// keeping a trailing slash: the path net/http's mux routes on.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// eventLog opens the event log once.
func (h *Handler) eventLog(ctx context.Context) (store.EventLog, error) {
	h.logOnce.Do(func() { h.log, h.logErr = h.opts.OpenLog(ctx) })
	return h.log, h.logErr
}

// blobStore opens the blob store once.
func (h *Handler) blobStore(ctx context.Context) (store.BlobStore, error) {
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
