package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"apie/admin"
	"apie/app"
	"apie/config"
)

// runAdmin is apie-cgi started from a shell: [-config FILE] command ...
// It returns the exit code.
func runAdmin(ctx context.Context, exeDir string, args []string) int {
	fs := flag.NewFlagSet("apie-cgi", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "the site's config file (default: $APIE_CONFIG, else the SetEnv APIE_CONFIG line of the .htaccess beside apie-cgi, else apie.json beside apie-cgi, else in the working directory)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "apie-cgi %s: run me as a CGI program, or give a command.\n\nusage: apie-cgi [-config FILE] command ...\n\nflags:\n", app.Version)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\n%s", admin.Usage)
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg, err := adminConfig(*cfgPath, os.Getenv(config.EnvVar), exeDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "apie-cgi: %s\n", err)
		return 1
	}
	return admin.Run(ctx, admin.Env{Config: cfg, Version: app.Version, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, fs.Args())
}

// adminConfig finds the config the site runs with, so that an admin
// command run over SSH changes the files the web server reads: the -config
// flag, else $APIE_CONFIG, else the "SetEnv APIE_CONFIG" line of the
// .htaccess beside the executable (which Apache hands to the CGI program
// but a shell never sees), else apie.json beside the executable, else in
// the working directory, else the defaults based beside the executable.
func adminConfig(flagPath, envPath, exeDir string) (config.Config, error) {
	explicit := flagPath
	if explicit == "" {
		explicit = envPath
	}
	if explicit == "" {
		p, err := config.FromHtaccess(filepath.Join(exeDir, config.HtaccessName))
		if err != nil {
			return config.Config{}, err
		}
		explicit = p
	}
	return config.Find(explicit, []string{exeDir, "."}, exeDir)
}
