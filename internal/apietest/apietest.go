// Package apietest runs apie in the test's own process: the handler
// apie-serve serves, built by package app the way apie-serve builds it,
// over a real file store in a temporary directory, behind an
// httptest.Server. Tests of HTTP clients and of the contract use it where
// a separate process or a web server in front adds nothing but time.
package apietest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/admin"
	"apie/app"
	"apie/config"
)

// DefaultConfig is the apie.json of a Start without Options.Config: the
// default paths (apie-data/ beside it) and bcrypt cost 4, for speed.
const DefaultConfig = `{"auth": {"bcryptCost": 4}}`

// User is a user Start adds before the server starts.
type User struct {
	Email, Password, Info string
}

// Options say what Start serves.
type Options struct {
	Config string // apie.json's content; "" for DefaultConfig
	Users  []User // added with the admin command, in order
	// Version is what the handler reports at GET / and GET /info; ""
	// means app.Version.
	Version string
	// Wrap, when set, wraps the handler (to fail or cut some requests on
	// purpose); the server serves what it returns.
	Wrap func(http.Handler) http.Handler
}

// Server is a running in-process apie.
type Server struct {
	*httptest.Server        // URL is the API's base URL
	Dir              string // holds apie.json and the data
}

// Start writes apie.json into a new t.TempDir, adds the users, and serves
// the apie-serve handler (app.Server mode: credential cache, throttling,
// passwd watch) on a free 127.0.0.1 port until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Config == "" {
		o.Config = DefaultConfig
	}
	dir := t.TempDir()
	path := filepath.Join(dir, config.FileName)
	if err := os.WriteFile(path, []byte(o.Config), 0o600); err != nil {
		t.Fatalf("apietest: write %s: %v", path, err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("apietest: %v", err)
	}
	for _, u := range o.Users {
		addUser(t, cfg, o.Version, u)
	}
	logger := slog.New(slog.DiscardHandler)
	stores := app.NewStores(cfg, logger)
	t.Cleanup(func() { stores.Close() })
	checker, err := app.Checker(cfg, app.Server, logger)
	if err != nil {
		t.Fatalf("apietest: authenticator: %v", err)
	}
	t.Cleanup(func() { checker.Close() })
	var h http.Handler = app.NewHandler(cfg, stores, checker, app.HandlerOptions{Mode: app.Server, Version: o.Version, Logger: logger})
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close) // registered last, so it runs first: no request outlives the stores
	return &Server{Server: srv, Dir: dir}
}

// addUser runs `user add` as the admin command line does.
func addUser(t testing.TB, cfg config.Config, version string, u User) {
	t.Helper()
	var out bytes.Buffer
	env := admin.Env{Config: cfg, Version: version, Stdin: strings.NewReader(u.Password + "\n"), Stdout: &out, Stderr: &out}
	args := []string{"user", "add", u.Email}
	if u.Info != "" {
		args = append(args, u.Info)
	}
	if code := admin.Run(context.Background(), env, args); code != 0 {
		t.Fatalf("apietest: user add %s: exit %d: %s", u.Email, code, out.String())
	}
}
