// Package admin is the command line both apie binaries share when they are
// not serving: user add|passwd|rm|list, consumers, consumer rm, verify,
// erase and version. Passwords are
// read from the terminal (without echo) or from standard input, never from
// the command line.
package admin

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"apie/app"
	"apie/config"
)

// Env is what a command may touch.
type Env struct {
	Config  config.Config
	Version string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Usage is the admin commands' help text.
const Usage = `commands:
  user add EMAIL [INFO]   add a user; the password is read from the terminal or stdin
  user passwd EMAIL       set a user's password (same)
  user rm EMAIL           remove a user
  user list               list users and their info
  consumers               list the consumers: position, lag (events after it), last move
  consumer rm NAME        remove a consumer
  verify                  check the whole chain and every blob, offline; exit 1 on damage
  migrate --to CONFIG     copy the event log and the blobs into the (empty) stores CONFIG names
  erase HASH --reason TEXT [--by NAME]
                          erase an event's body (kept: its hash, type, time, creator),
                          recorded in the log by an apie.erased event created by NAME
  version                 print the version
`

// IsCommand reports whether name is an admin command.
func IsCommand(name string) bool {
	switch name {
	case "user", "verify", "migrate", "erase", "version", "help", "consumers", "consumer":
		return true
	}
	return false
}

// Run runs one admin command and returns the process exit code.
func Run(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, Usage)
		return 2
	}
	var err error
	switch args[0] {
	case "version":
		fmt.Fprintf(env.Stdout, "apie %s\n", env.Version)
		return 0
	case "help":
		fmt.Fprint(env.Stdout, Usage)
		return 0
	case "user":
		err = runUser(ctx, env, args[1:])
	case "verify":
		return runVerify(ctx, env)
	case "migrate":
		err = runMigrate(ctx, env, args[1:])
	case "consumers":
		err = runConsumers(ctx, env, args[1:])
	case "consumer":
		err = runConsumer(ctx, env, args[1:])
	case "erase":
		err = runErase(ctx, env, args[1:])
	default:
		err = usageError("unknown command " + args[0])
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "apie: %s\n\n%s", ue, Usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "apie: %s\n", err)
		return 1
	}
	return 0
}

type usageError string

func (u usageError) Error() string { return string(u) }

func runUser(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 {
		return usageError("user needs a subcommand")
	}
	path, users := env.Config.Passwd.Path, app.Users(env.Config)
	switch {
	case args[0] == "list" && len(args) == 1:
		if err := needFile(env.Config, path, "users file"); err != nil {
			return err
		}
		entries, err := users.List()
		if err != nil {
			return err
		}
		for _, e := range entries {
			fmt.Fprintf(env.Stdout, "%s\t%s\n", e.Email, e.Info)
		}
		return nil
	case args[0] == "add" && (len(args) == 2 || len(args) == 3):
		pw, err := readPassword(env, "Password for "+args[1]+": ")
		if err != nil {
			return err
		}
		info := ""
		if len(args) == 3 {
			info = args[2]
		}
		if err := ensureDir(env.Config); err != nil {
			return err
		}
		if err := users.Add(ctx, args[1], pw, info); err != nil {
			return fmt.Errorf("add %s: %w", args[1], err)
		}
		fmt.Fprintf(env.Stdout, "added %s to %s\n", args[1], path)
		return nil
	case args[0] == "passwd" && len(args) == 2:
		if err := needFile(env.Config, path, "users file"); err != nil {
			return err
		}
		pw, err := readPassword(env, "New password for "+args[1]+": ")
		if err != nil {
			return err
		}
		if err := users.SetPassword(ctx, args[1], pw); err != nil {
			return fmt.Errorf("passwd %s: %w", args[1], err)
		}
		fmt.Fprintf(env.Stdout, "password changed for %s\n", args[1])
		return nil
	case args[0] == "rm" && len(args) == 2:
		if err := needFile(env.Config, path, "users file"); err != nil {
			return err
		}
		if err := users.Remove(ctx, args[1]); err != nil {
			return fmt.Errorf("rm %s: %w", args[1], err)
		}
		fmt.Fprintf(env.Stdout, "removed %s\n", args[1])
		return nil
	}
	return usageError("bad user command: " + strings.Join(args, " "))
}

// readPassword reads a password: twice without echo from a terminal, or
// one line from a pipe.
func readPassword(env Env, prompt string) (string, error) {
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.Stderr, prompt)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(env.Stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return checkPassword(string(a))
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	return checkPassword(strings.TrimRight(line, "\r\n"))
}

func checkPassword(pw string) (string, error) {
	if pw == "" || len(pw) > 72 {
		return "", errors.New("a password must be 1 to 72 bytes (bcrypt's limit)")
	}
	return pw, nil
}

// NewPassword returns a random password of 22 URL-safe characters.
func NewPassword() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// EnsureFirstUser creates a first user when the passwd file has none, and
// prints its password once to w. It reports whether it made one.
func EnsureFirstUser(ctx context.Context, cfg config.Config, email, baseURL string, w io.Writer) (bool, error) {
	users := app.Users(cfg)
	if list, err := users.List(); err != nil || len(list) > 0 {
		return false, err
	}
	pw := NewPassword()
	if err := ensureDir(cfg); err != nil {
		return false, err
	}
	made, err := users.AddFirst(ctx, email, pw, "created on first start")
	if err != nil || !made {
		return false, err
	}
	fmt.Fprintf(w, "\nFirst start: created user %s with password %s\n", email, pw)
	fmt.Fprintf(w, "It is shown only this once. Change it with: apie-serve user passwd %s\n", email)
	fmt.Fprintf(w, "Try it:  curl -u '%s:%s' %s/info\n\n", email, pw, baseURL)
	return true, nil
}

// ensureDir creates the passwd file's directory if it is missing, so a
// first "user add" works on a fresh install.
func ensureDir(cfg config.Config) error {
	if err := os.MkdirAll(filepath.Dir(cfg.Passwd.Path), cfg.EventLog.DirMode); err != nil {
		return fmt.Errorf("create directory for passwd: %w", err)
	}
	return nil
}

// needFile returns an error unless path exists: the admin commands other
// than "user add" work on what is there and never make a store or a users
// file. The error names the config in use, the usual cause being another
// config than the site's.
func needFile(cfg config.Config, path, what string) error {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no %s at %s (%s)", what, path, describeConfig(cfg))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// describeConfig says which config is in force, and how to name another.
func describeConfig(cfg config.Config) string {
	if cfg.Source == "" {
		return "no apie.json found, so the defaults are in force; name the site's config with -config FILE"
	}
	return "config " + cfg.Source + "; name another with -config FILE"
}
