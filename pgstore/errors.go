package pgstore

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"apie/store"
)

// unavailable wraps err with store.ErrUnavailable when it says PostgreSQL
// cannot be reached, is shutting down or starting, or dropped the
// connection: the same request may succeed later, so the HTTP layer
// answers 503 with Retry-After. Any other error is returned as it is.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return &unavailableError{err}
}

// unavailableError is an error that also matches store.ErrUnavailable.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return "PostgreSQL is unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() []error      { return []error{store.ErrUnavailable, e.err} }
func (e *unavailableError) Is(target error) bool { return target == store.ErrUnavailable }

// isUnavailable reports whether err is about the connection or the
// server's state rather than about the statement.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up: not the server's fault
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin or crash shutdown, starting up
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOENT): // a unix socket that is gone while the server is down
		return true
	case pgconn.SafeToRetry(err):
		return true
	}
	return errors.Is(err, pgconn.ErrConnClosed)
}
