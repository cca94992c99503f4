// Command apie-serve serves the apie API with net/http. With a command
// (user add|passwd|rm|list, verify, version) it is the admin command line.
//
//	apie-serve [-addr 127.0.0.1:8000] [-config apie.json]
//	           [-read-header-timeout 10s] [-read-timeout 10m]
//	           [-scrub-every 24h] [-scrub-rate 4] [command ...]
//
// A hidden flag, -cpuprofile FILE, writes a CPU profile of the serving
// (for measuring apie-serve; it is left out of -h).
//
// Without -config it reads ./apie.json if present, else uses the defaults
// (./apie-data). On a first start with no users it creates one and prints
// its password once. After it listens it scrubs the event log in the
// background (every hash and link, at -scrub-rate MiB/s), then again every
// -scrub-every (0: never). SIGINT or SIGTERM stop it gracefully: in-flight
// requests, appends among them, finish first; followers (follow=true) are
// sent their end line and do not hold the stop up.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"apie/admin"
	"apie/app"
	"apie/config"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("apie-serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "address to listen on")
	cfgPath := fs.String("config", "", "config file (default ./apie.json if present, else built-in defaults)")
	firstUser := fs.String("first-user", "admin", "name of the user created on a first start")
	var to timeouts
	fs.DurationVar(&to.readHeader, "read-header-timeout", 10*time.Second, "time a client has to send its request headers")
	fs.DurationVar(&to.read, "read-timeout", 10*time.Minute, "time a client has to send a whole request, body included")
	scrub := app.DefaultScrub
	fs.DurationVar(&scrub.Every, "scrub-every", scrub.Every, "check the whole event log after start and then this often (0: never)")
	scrubRate := fs.Int64("scrub-rate", scrub.Rate>>20, "MiB a second the event log check reads at most (0: no limit)")
	// Hidden: for whoever measures apie-serve, not for its users.
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the serving to `file`")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: apie-serve [flags] [command ...]\n\nflags:\n")
		printDefaults(fs, "cpuprofile")
		fmt.Fprintf(fs.Output(), "\n%s", admin.Usage)
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *scrubRate < 0 || scrub.Every < 0 {
		fmt.Fprintf(os.Stderr, "apie-serve: -scrub-rate and -scrub-every must not be negative\n")
		return 2
	}
	scrub.Rate = *scrubRate << 20
	cfg, err := config.Find(*cfgPath, []string{"."}, ".")
	if err != nil {
		fmt.Fprintf(os.Stderr, "apie-serve: %s\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if fs.NArg() > 0 {
		return admin.Run(ctx, admin.Env{Config: cfg, Version: app.Version, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, fs.Args())
	}
	sink := newLogSink(os.Stderr)
	defer sink.Flush()
	flushCtx, stopFlushing := context.WithCancel(context.Background())
	defer stopFlushing()
	go sink.flushEvery(flushCtx, requestLogFlush)
	logs := serverLogs{
		Logger:   slog.New(slog.NewTextHandler(sink.immediate(), nil)),
		requests: slog.New(slog.NewTextHandler(sink.buffered(), nil)),
	}
	logger := logs.Logger
	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "apie-serve: %s\n", err)
			return 1
		}
		defer stopProfile()
	}
	if err := serve(ctx, cfg, *addr, *firstUser, to, scrub, logs); err != nil {
		if hint, ok := app.StartupMessage(err); ok {
			logger.Error("apie-serve stopped", "err", err, "hint", hint)
		} else {
			logger.Error("apie-serve stopped", "err", err)
		}
		return 1
	}
	return 0
}

// requestLogFlush is how long a request's log line may wait in memory.
const requestLogFlush = 100 * time.Millisecond

// logSink is one buffer in front of a writer (stderr), written through two
// faces. Lines written to buffered() wait in it until the buffer fills,
// flushEvery's tick, or Flush: the request log, one line per request,
// costs no system call of its own. A line written to immediate() is
// flushed at once, with any buffered lines before it, so the order of
// lines is kept and warnings never wait. If the process is killed, up to
// one tick of request lines is lost; everything else is out already.
type logSink struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newLogSink(w io.Writer) *logSink { return &logSink{w: bufio.NewWriterSize(w, 64<<10)} }

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// buffered returns a writer whose lines wait in the buffer.
func (s *logSink) buffered() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.w.Write(p)
	})
}

// immediate returns a writer whose lines are written out at once.
func (s *logSink) immediate() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		n, err := s.w.Write(p)
		if err == nil {
			err = s.w.Flush()
		}
		return n, err
	})
}

// Flush writes out whatever is buffered.
func (s *logSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// flushEvery flushes the buffer every d until ctx is done; a tick with
// nothing buffered costs nothing.
func (s *logSink) flushEvery(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Flush()
		}
	}
}

// printDefaults prints the flags of fs, as fs.PrintDefaults does, but for
// the hidden ones.
func printDefaults(fs *flag.FlagSet, hidden ...string) {
	shown := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	shown.SetOutput(fs.Output())
	fs.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(hidden, f.Name) {
			shown.Var(f.Value, f.Name, f.Usage)
		}
	})
	shown.PrintDefaults()
}

// startCPUProfile starts writing a CPU profile to path; the returned
// function stops it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// timeouts bound how long a client may take to send a request, so slow
// clients cannot hold connections open for ever.
type timeouts struct {
	readHeader time.Duration
	read       time.Duration
}

// serverLogs are apie-serve's two loggers: Logger for what happens, at
// once; requests for the per-request lines, buffered.
type serverLogs struct {
	*slog.Logger
	requests *slog.Logger
}

// openStores opens the event log and the blob store at the same time:
// on a first start each creates its directory and files, and their
// directory creations and fsyncs overlap. Each sets only its own field
// of stores, and both are done when it returns.
func openStores(ctx context.Context, stores *app.Stores) error {
	blobErr := make(chan error, 1)
	go func() {
		_, err := stores.Blobs(ctx)
		blobErr <- err
	}()
	_, logErr := stores.Log(ctx)
	return errors.Join(logErr, <-blobErr)
}

func serve(ctx context.Context, cfg config.Config, addr, firstUser string, to timeouts, scrub app.Scrub, logs serverLogs) error {
	logger := logs.Logger
	if !cfg.AdminsSet {
		// Without "admins" in apie.json the user a first start creates
		// (-first-user) is the admin.
		cfg.Admins = []string{firstUser}
	}
	stores := app.NewStores(cfg, logger).WithBootID(os.Getenv(app.TestBootIDEnv))
	defer stores.Close()
	// Open both stores now: a broken data directory should stop the start,
	// not the first request.
	if err := openStores(ctx, stores); err != nil {
		return err
	}
	// A first start hashes the first user's password while it listens.
	first, err := startFirstUser(ctx, cfg, firstUser, "http://"+addr, os.Stdout)
	if err != nil {
		return err
	}
	if first != nil {
		defer first.wait(context.Background()) // its goroutine ends before serve returns
	}
	checker, err := app.Checker(cfg, app.Server, logger)
	if err != nil {
		return err
	}
	defer checker.Close()
	h := app.ServerHandler(cfg, stores, checker, logger, logs.requests)
	srv := &http.Server{
		Handler:           first.gate(h),
		ReadHeaderTimeout: to.readHeader,
		ReadTimeout:       to.read,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Followers end with their end line at once on a stop: the stop
	// waits for requests in flight, not for them.
	srv.RegisterOnShutdown(h.StopFollowers)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("apie-serve listening", "addr", ln.Addr().String(), "version", app.Version, "config", cfg.Source,
		"events", cfg.EventLog.Path, "blobs", cfg.ContentStore.Path)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if first != nil {
		go func() {
			if err := first.wait(ctx); err != nil && ctx.Err() == nil {
				errc <- err // no first user: stop, as a failed start would
			}
		}()
	}
	scrubCtx, stopScrub := context.WithCancel(ctx)
	scrubbed := make(chan struct{})
	go func() {
		defer close(scrubbed)
		stores.RunScrub(scrubCtx, scrub, logger)
	}()
	defer func() { stopScrub(); <-scrubbed }() // before the stores close
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopScrub()
	logger.Info("apie-serve stopping: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := stores.Checkpoint(shutdownCtx); err != nil {
		logger.Warn("checkpoint the indexes on stop", "err", err)
	}
	logger.Info("apie-serve stopped")
	return nil
}
