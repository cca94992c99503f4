// Package app wires a validated configuration to the stores, the
// authenticator and the HTTP handler. Both mains use it, so apie-cgi and
// apie-serve serve exactly the same API from the same files.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"apie/auth"
	"apie/blobstore"
	"apie/config"
	"apie/consumerstore"
	"apie/event"
	"apie/eventlog"
	"apie/handler"
	"apie/pgstore"
	"apie/store"
	"apie/webroot"
)

// Mode says which edge serves the handler.
type Mode int

const (
	// CGI answers one request per process: no credential cache, no
	// throttling (there is no memory between requests), no request log.
	CGI Mode = iota
	// Server is a long-running apie-serve.
	Server
)

// Version is stamped at build time (make build) through -ldflags.
var Version = "dev"

// Stores opens the stores lazily, at most once each.
type Stores struct {
	cfg      config.Config
	logger   *slog.Logger
	log      *eventlog.EventLog
	blobs    *blobstore.BlobStore
	remote   remoteStores // the stores of the other backends, when cfg selects them
	cons     *consumerstore.Store
	existing bool             // Log opens only a PostgreSQL log that exists
	now      func() time.Time // the event logs' clock; nil = time.Now
	bootID   string
	notify   notifier // live.go
}

// TestBootIDEnv names the environment variable through which tests that
// play a power loss give the mains another boot id, as a reboot would
// (see WithBootID). Users never set it: the kernel's boot id is the
// right one.
const TestBootIDEnv = "APIE_TEST_BOOT_ID"

// WithBootID makes the event log take id as the machine's boot id
// instead of the kernel's ("" keeps the kernel's). The boot id decides
// how much of an index the log trusts after a crash (see eventlog's
// doc.go); only tests that play a power loss change it. It returns s.
func (s *Stores) WithBootID(id string) *Stores {
	s.bootID = id
	return s
}

// NewStores returns unopened stores for cfg.
func NewStores(cfg config.Config, logger *slog.Logger) *Stores {
	return &Stores{cfg: cfg, logger: logger}
}

// EventLog opens the event log on first use.
func (s *Stores) EventLog(ctx context.Context) (*eventlog.EventLog, error) {
	if s.log != nil {
		return s.log, nil
	}
	if s.cfg.EventLog.Postgres != nil {
		return nil, errNotFiles
	}
	l, err := eventlog.OpenEventLog(ctx, eventlog.LogOptions{
		Dir: s.cfg.EventLog.Path, FileMode: s.cfg.EventLog.FileMode, DirMode: s.cfg.EventLog.DirMode, Logger: s.logger,
		BootID: s.bootID, Now: s.now,
	})
	if err != nil {
		return nil, err
	}
	s.log = l
	return l, nil
}

// BlobStore opens the blob store on first use.
func (s *Stores) BlobStore(ctx context.Context) (*blobstore.BlobStore, error) {
	if s.blobs != nil {
		return s.blobs, nil
	}
	if s.cfg.ContentStore.S3 != nil {
		return nil, errNotFiles
	}
	b, err := blobstore.OpenBlobStore(ctx, blobstore.BlobOptions{
		Dir: s.cfg.ContentStore.Path, FileMode: s.cfg.ContentStore.FileMode, DirMode: s.cfg.ContentStore.DirMode,
		MaxBytes: s.cfg.Limits.BlobBytes, Logger: s.logger,
	})
	if err != nil {
		return nil, err
	}
	s.blobs = b
	return b, nil
}

// Consumers opens the consumer store on first use (it touches no file
// until a consumer is moved).
func (s *Stores) Consumers(ctx context.Context) (*consumerstore.Store, error) {
	if s.cons != nil {
		return s.cons, nil
	}
	c, err := consumerstore.Open(consumerstore.Options{
		Dir: s.cfg.Consumers.Path, FileMode: s.cfg.EventLog.FileMode, DirMode: s.cfg.EventLog.DirMode,
	})
	if err != nil {
		return nil, err
	}
	s.cons = c
	return c, nil
}

// ConsumerStore opens the consumer store cfg selects: in the event log's
// PostgreSQL schema (consumers.InEventLog), shared by the nodes, else in
// files (Consumers).
func (s *Stores) ConsumerStore(ctx context.Context) (store.ConsumerStore, error) {
	if !s.cfg.Consumers.InEventLog {
		c, err := s.Consumers(ctx)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	l, err := s.Log(ctx)
	if err != nil {
		return nil, err
	}
	pg, ok := l.(*pgstore.EventLog)
	if !ok {
		return nil, fmt.Errorf("consumers in the event log need it in PostgreSQL, not %T", l)
	}
	return pg.ConsumerStore(), nil
}

// Checkpoint makes the event log's indexes durable (a server does it
// before it stops; a CGI request skips it, see eventlog.EventLog.Checkpoint).
func (s *Stores) Checkpoint(ctx context.Context) error {
	if s.log == nil {
		return nil
	}
	return s.log.Checkpoint(ctx)
}

// Close closes whatever was opened.
func (s *Stores) Close() error {
	s.notify.close()
	var err error
	if s.log != nil {
		err = s.log.Close()
	}
	if s.blobs != nil {
		if e := s.blobs.Close(); err == nil {
			err = e
		}
	}
	if e := s.remote.close(); err == nil {
		err = e
	}
	return err
}

// Checker returns the authenticator for cfg in mode.
func Checker(cfg config.Config, mode Mode, logger *slog.Logger) (*auth.Checker, error) {
	return auth.NewChecker(auth.Options{
		PasswdPath:    cfg.Passwd.Path,
		BcryptCost:    cfg.Auth.BcryptCost,
		Cache:         mode == Server,
		CacheTTL:      cfg.Auth.CacheTTL,
		TokenKeyPath:  cfg.Auth.TokenKey,
		TokenLifetime: cfg.Auth.TokenLifetime,
		KeyDirMode:    cfg.EventLog.DirMode,
		Throttle:      mode == Server,
		Logger:        logger,
		WatchPasswd:   mode == Server,
	})
}

// Users returns the users of cfg's passwd file, changed with its mode and
// bcrypt cost: the one place both the admin commands and the handler get
// them from.
func Users(cfg config.Config) *auth.Users {
	return &auth.Users{Path: cfg.Passwd.Path, Mode: cfg.Passwd.FileMode, Cost: cfg.Auth.BcryptCost}
}

// Handler builds the HTTP handler for cfg over stores. In Server mode it
// logs one line per request, to logger.
func Handler(cfg config.Config, mode Mode, stores *Stores, checker *auth.Checker, logger *slog.Logger) *handler.Handler {
	return NewHandler(cfg, stores, checker, HandlerOptions{Mode: mode, Logger: logger})
}

// ServerHandler is Handler in Server mode with the per-request lines sent
// to requestLog (apie-serve buffers those) and every other line to logger.
func ServerHandler(cfg config.Config, stores *Stores, checker *auth.Checker, logger, requestLog *slog.Logger) *handler.Handler {
	return NewHandler(cfg, stores, checker, HandlerOptions{Mode: Server, Logger: logger, RequestLog: requestLog})
}

// HandlerOptions say how NewHandler builds a handler, beyond its config,
// stores and authenticator.
type HandlerOptions struct {
	Mode       Mode
	Version    string       // what GET / and GET /info report; "" means Version
	Logger     *slog.Logger // nil = discard
	RequestLog *slog.Logger // where Server mode's per-request lines go; nil = Logger
}

// NewHandler builds the HTTP handler for cfg over stores, as o says.
func NewHandler(cfg config.Config, stores *Stores, checker *auth.Checker, o HandlerOptions) *handler.Handler {
	if o.Version == "" {
		o.Version = Version
	}
	return handler.New(handler.Options{
		Version:       o.Version,
		OpenLog:       stores.Log,
		OpenBlobs:     stores.Blobs,
		OpenConsumers: stores.ConsumerStore,
		Auth:          checker,
		Users:         Users(cfg),
		Limits: event.Limits{
			EventBytes: cfg.Limits.EventBytes, RequestBytes: cfg.Limits.RequestBytes, BatchEvents: cfg.Limits.BatchEvents,
			BodyDepth: cfg.Limits.BodyDepth,
		},
		BlobBytes:   cfg.Limits.BlobBytes,
		BlobURL:     cfg.ContentStore.URL,
		PublicConf:  cfg.Public(),
		CORSOrigins: cfg.CORS.Origins,
		Admins:      cfg.Admins,
		Logger:      o.Logger,
		LogRequests: o.Mode == Server,
		RequestLog:  o.RequestLog,
		Live:        liveOptions(cfg, o.Mode, stores),
	})
}

// Broken is the handler used when the configuration or the store cannot be
// loaded: every request gets a JSON 500 (the detail is in the log).
func Broken() http.Handler { return BrokenBy(nil) }

// BrokenBy is Broken for the startup error err: when err says the server
// may not read its own files (its config, its users file, its data), the
// answer says which and to check the owner and mode, without a path (see
// handler.AccessMessage); any other error gets Broken's answer.
func BrokenBy(err error) http.Handler {
	msg := "apie is misconfigured; see the server's error log"
	if m, ok := StartupMessage(err); ok {
		msg = m
	}
	body, _ := json.Marshal(struct {
		Status       string `json:"status"`
		ErrorMessage string `json:"errorMessage"`
	}{"error", msg})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(append(body, '\n'))
	})
}

// StartupMessage returns, for a startup error that comes from the owner
// or mode of one of apie's files or from data exposed in the web root
// (webroot.ErrExposed), what to tell whoever runs it, without a path; ok
// is false for any other error.
func StartupMessage(err error) (msg string, ok bool) {
	if errors.Is(err, webroot.ErrExposed) {
		return exposedMessage, true
	}
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return "", false
	}
	if errors.Is(err, config.ErrRead) {
		return "the server cannot read its config file: check the owner and mode of apie.json (see the README's Permissions section)", true
	}
	return handler.AccessMessage(err)
}
