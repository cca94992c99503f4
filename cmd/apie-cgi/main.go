// Command apie-cgi is apie for a shared host's cgi-bin. Started by a web
// server (GATEWAY_INTERFACE set) it answers one request; started from a
// shell it is the admin command line (user add|passwd|rm|list, verify,
// version).
//
// Config: $APIE_CONFIG, else apie.json beside the executable, else in the
// working directory, else the defaults (apie-data/ beside the executable).
// The admin command line takes -config FILE first, and after
// $APIE_CONFIG the SetEnv APIE_CONFIG line of the .htaccess beside the
// executable, which Apache passes to a request but a shell never sees.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"apie/app"
	"apie/cgi"
	"apie/config"
)

func main() { os.Exit(run()) }

func run() int {
	ctx := context.Background()
	exeDir := "."
	if exe, err := os.Executable(); err == nil {
		exeDir = filepath.Dir(exe)
	}
	if !cgi.Is() {
		return runAdmin(ctx, exeDir, os.Args[1:])
	}
	cfg, cfgErr := config.Find(os.Getenv("APIE_CONFIG"), []string{exeDir, "."}, exeDir)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, stores, err := cgiHandler(cfg, cfgErr, logger)
	if stores != nil {
		defer stores.Close()
	}
	if err != nil {
		logger.Error("apie-cgi cannot start", "err", err)
		h = app.BrokenBy(err)
	}
	if err := cgi.Serve(h, os.Environ(), os.Stdin, os.Stdout); err != nil {
		logger.Error("apie-cgi", "err", err)
	}
	// The response is complete: let the web server send it now, and close
	// the stores after.
	os.Stdout.Close()
	return 0
}

func cgiHandler(cfg config.Config, cfgErr error, logger *slog.Logger) (h http.Handler, s *app.Stores, err error) {
	if cfgErr != nil {
		return nil, nil, cfgErr
	}
	if err := app.CheckWebRoot(cfg, os.Getenv); err != nil {
		return nil, nil, err
	}
	checker, err := app.Checker(cfg, app.CGI, logger)
	if err != nil {
		return nil, nil, err
	}
	stores := app.NewStores(cfg, logger).WithBootID(os.Getenv(app.TestBootIDEnv))
	return app.Handler(cfg, app.CGI, stores, checker, logger), stores, nil
}
