package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"apie/admin"
	"apie/auth"
	"apie/config"
)

// firstUser creates the first user of a first start (no users yet)
// while the server already listens: hashing its generated password at
// the configured bcrypt cost is most of a first start, and no request
// needs the user but one that brings credentials. Until the user is
// stored, such requests wait (see gate); requests without an
// Authorization header are answered at once, as they would be after.
type firstUser struct {
	done chan struct{} // closed once the user is stored, or creating it failed
	err  error         // why creating the user failed; read after done
}

// startFirstUser starts creating the first user named email if the
// passwd file holds no users, and returns nil if it holds some. The
// password is printed to w, with baseURL in the example, once the user
// is stored.
func startFirstUser(ctx context.Context, cfg config.Config, email, baseURL string, w io.Writer) (*firstUser, error) {
	p, err := auth.ReadPasswd(cfg.Passwd.Path)
	if err != nil {
		return nil, fmt.Errorf("create first user: %w", err)
	}
	if len(p.Entries()) > 0 {
		return nil, nil
	}
	// The passwd file's directory exists before the checker starts
	// watching it, as it would after a first start done before listening.
	if err := os.MkdirAll(filepath.Dir(cfg.Passwd.Path), cfg.EventLog.DirMode); err != nil {
		return nil, fmt.Errorf("create first user: directory for passwd: %w", err)
	}
	f := &firstUser{done: make(chan struct{})}
	// A stop does not cancel it: the password is printed once, so the
	// user it names must be stored (serve waits for it before it returns).
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer close(f.done)
		if _, err := admin.EnsureFirstUser(ctx, cfg, email, baseURL, w); err != nil {
			f.err = fmt.Errorf("create first user: %w", err)
		}
	}()
	return f, nil
}

// wait blocks until the first user is stored (or failed) or ctx ends.
func (f *firstUser) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gate holds each request that carries an Authorization header until
// the first user is stored, so its credentials are checked against the
// passwd file that holds it; a request whose client gives up meanwhile
// is dropped. With f nil it returns h.
func (f *firstUser) gate(h http.Handler) http.Handler {
	if f == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			select {
			case <-f.done:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
