// Command apie-cgi is apie for a shared host's cgi-bin. Started by a web
// server (GATEWAY_INTERFACE set) it answers one request; started from a
// shell it is the admin command line (user add|passwd|rm|list, verify,
// version).
//
// Config: $APIE_CONFIG, else apie.json beside the executable, else in the
// working directory, else the defaults (apie-data/ beside the executable).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"apie/admin"
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
	cfg, cfgErr := config.Find(os.Getenv("APIE_CONFIG"), []string{exeDir, "."}, exeDir)
	if !cgi.Is() {
		if cfgErr != nil {
			fmt.Fprintf(os.Stderr, "apie-cgi: %s\n", cfgErr)
			return 1
		}
		args := os.Args[1:]
		if len(args) == 0 {
			fmt.Fprintf(os.Stderr, "apie-cgi %s: run me as a CGI program, or give a command.\n\n%s", app.Version, admin.Usage)
			return 2
		}
		return admin.Run(ctx, admin.Env{Config: cfg, Version: app.Version, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, args)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h, stores, err := cgiHandler(cfg, cfgErr, logger)
	if stores != nil {
		defer stores.Close()
	}
	if err != nil {
		logger.Error("apie-cgi cannot start", "err", err)
		h = app.Refuse(err)
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
	stores := app.NewStores(cfg, logger)
	return app.Handler(cfg, app.CGI, stores, checker, logger), stores, nil
}
