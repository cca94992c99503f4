package store

import (
	"errors"
	"fmt"

	"apie/sum"
)

// Sentinel errors. Callers test them with errors.Is; the HTTP layer maps
// each to one status code.
var (
	ErrNotFound     = errors.New("not found")                       // 404
	ErrConflict     = errors.New("conflict")                        // 409: same eventId, other content
	ErrPrecondition = errors.New("precondition failed")             // 412: If-Match is not the head
	ErrTooLarge     = errors.New("too large")                       // 413
	ErrHashMismatch = errors.New("content does not match its hash") // 400
	ErrNoSpace      = errors.New("no space left on device")         // 507
	ErrBadName      = errors.New("bad filename")                    // 400: BlobStore.Put's filename is not an acceptable base name
	ErrClosed       = errors.New("store is closed")
	// ErrUnavailable (503) says a store's server (PostgreSQL, the object
	// store) cannot be reached or is restarting: nothing was acknowledged,
	// and the same request may succeed later. An append that fails so may
	// still have been committed (the connection broke during COMMIT); a
	// retry with the same client-chosen eventIds is then safe.
	ErrUnavailable = errors.New("the store's server is unavailable")
	// ErrUnsupported (501): the backend does not have the feature a
	// request needs yet (streams on a backend without them, say).
	ErrUnsupported = errors.New("not supported by this backend")
	// ErrCorrupt is matched (errors.Is) by every *CorruptionError: damage
	// that is not a torn, unacknowledged tail.
	ErrCorrupt = errors.New("store is damaged")
	// ErrWriteFailed is sticky: after a failed write or fsync the log
	// refuses appends until it is reopened, so nothing builds on a tail
	// that may not be durable.
	ErrWriteFailed = errors.New("an earlier write failed; the log refuses appends until reopened")
)

// PreconditionError is returned (wrapping ErrPrecondition) when If-Match
// does not name the current head. Head is the head at the time of the check
// (sum.Genesis for an empty log).
type PreconditionError struct {
	Head sum.Hash
}

func (e *PreconditionError) Error() string {
	return fmt.Sprintf("precondition failed: head is %s", e.Head)
}

func (e *PreconditionError) Unwrap() error { return ErrPrecondition }

// CorruptionError reports damage that is not a torn, unacknowledged tail:
// the store refuses writes and Verify reports it. errors.Is(err,
// ErrCorrupt) is true of it, and Unwrap gives the cause, if any (an
// event.RecordError, say), for errors.Is and errors.As to look into.
type CorruptionError struct {
	Path   string // the damaged file
	Offset int64  // byte offset in Path, or -1 if unknown
	Seq    uint64 // the event's seq, or 0 if unknown
	Reason string // what is wrong, for people; "" when Err says it
	Err    error  // the cause, or nil
}

func (e *CorruptionError) Error() string {
	s := fmt.Sprintf("corrupt store: %s", e.Path)
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	if e.Seq > 0 {
		s += fmt.Sprintf(" (seq %d)", e.Seq)
	}
	switch {
	case e.Err == nil:
		return s + ": " + e.Reason
	case e.Reason == "":
		return s + ": " + e.Err.Error()
	}
	return s + ": " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the cause, or nil.
func (e *CorruptionError) Unwrap() error { return e.Err }

// Is reports whether target is ErrCorrupt.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

// MaxFilenameBytes bounds a blob's filename in every BlobStore, as most
// file systems bound a path component; a longer one is ErrBadName.
const MaxFilenameBytes = 255
