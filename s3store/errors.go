package s3store

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/minio/minio-go/v7"

	"apie/store"
)

// unavailable wraps err with store.ErrUnavailable when it says the object
// store cannot be reached, dropped the connection or asks to be called
// later (503, SlowDown, a MinIO still starting): the same request may
// succeed later, so the HTTP layer answers 503 with Retry-After. Any other
// error is returned as it is.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !isUnavailable(err) {
		return err
	}
	return &unavailableError{err}
}

// unavailableError is an error that also matches store.ErrUnavailable.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return "the object store is unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() []error      { return []error{store.ErrUnavailable, e.err} }
func (e *unavailableError) Is(target error) bool { return target == store.ErrUnavailable }

func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusBadGateway,
		resp.StatusCode == http.StatusGatewayTimeout:
		return true
	case resp.Code == "SlowDown", resp.Code == "ServiceUnavailable", resp.Code == "XMinioServerNotInitialized":
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
