package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"apie/sum"
)

// ConsumerStore keeps consumers: named, durable positions in the event log
// (a projection's or a worker's place). What the HTTP layer needs of one;
// implementations are safe for concurrent use, and a store of files is
// safe for any number of processes. A store knows nothing of the log: the
// caller resolves a position's hash to its seq before a Move.
type ConsumerStore interface {
	// Get returns the consumer named name; a missing one is ErrNotFound, a
	// bad name ErrBadConsumerName.
	Get(ctx context.Context, name string) (Consumer, error)
	// List returns every consumer, ordered by name (byte order).
	List(ctx context.Context) ([]Consumer, error)
	// Move creates the consumer or moves it, as a compare-and-swap under
	// the store's lock, and returns it as stored and whether it was
	// created. It is durable when Move returns nil: a crash at any moment
	// leaves the consumer at its old or its new position, never between.
	// A failed precondition is a *ConsumerPreconditionError, a backward
	// move without Force a *ConsumerConflictError; then nothing changes.
	// Moving a consumer to where it is succeeds and writes nothing.
	Move(ctx context.Context, m ConsumerMove) (c Consumer, created bool, err error)
	// Delete removes the consumer named name, durably; a missing one is
	// ErrNotFound.
	Delete(ctx context.Context, name string) error
}

// Consumer is a named position in the log: just after the event with hash
// After, whose seq is Seq. Seq 0 (After = sum.Genesis) is the position
// before the first event.
type Consumer struct {
	Name      string
	After     sum.Hash
	Seq       uint64
	UpdatedAt time.Time
	UpdatedBy string
}

// AtStart reports whether c is before the first event.
func (c Consumer) AtStart() bool { return c.Seq == 0 }

// ConsumerMove is one create-or-move of a consumer.
type ConsumerMove struct {
	Name  string
	After sum.Hash // the position's event hash; sum.Genesis with Seq 0 for "before the first event"
	Seq   uint64
	// Force allows a move backward; without it a move to a lower seq is
	// a *ConsumerConflictError.
	Force bool
	// IfMatch, when not nil, makes the move a compare-and-swap: it
	// succeeds only if the consumer exists and is at this hash (sum.Genesis
	// for a consumer before the first event).
	IfMatch *sum.Hash
	// IfAbsent makes the move succeed only if the consumer does not exist
	// yet (HTTP's If-None-Match: *).
	IfAbsent  bool
	UpdatedBy string
}

// Consumer name rules: 1 to MaxConsumerName bytes of [A-Za-z0-9._-],
// and neither "." nor "..".
const MaxConsumerName = 128

// ErrBadConsumerName is a consumer name outside the rules (400).
var ErrBadConsumerName = errors.New("bad consumer name: use 1 to 128 characters from A-Z a-z 0-9 . _ - (not \".\" or \"..\")")

// CheckConsumerName returns ErrBadConsumerName unless name follows the
// rules. Every ConsumerStore checks it, so that a name is always a safe
// file name and a safe key.
func CheckConsumerName(name string) error {
	if name == "" || len(name) > MaxConsumerName || name == "." || name == ".." {
		return ErrBadConsumerName
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return ErrBadConsumerName
		}
	}
	return nil
}

// ConsumerPreconditionError is a Move whose IfMatch or IfAbsent did not
// hold (wrapping ErrPrecondition). Current is the consumer as it is, and
// Exists says whether there is one.
type ConsumerPreconditionError struct {
	Current Consumer
	Exists  bool
}

func (e *ConsumerPreconditionError) Error() string {
	if !e.Exists {
		return fmt.Sprintf("precondition failed: no consumer %s", e.Current.Name)
	}
	return fmt.Sprintf("precondition failed: consumer %s is at seq %d (%s)", e.Current.Name, e.Current.Seq, e.Current.After)
}

func (e *ConsumerPreconditionError) Unwrap() error { return ErrPrecondition }

// ConsumerConflictError is a Move backward without Force (wrapping
// ErrConflict). Current is the consumer as it is.
type ConsumerConflictError struct {
	Current Consumer
}

func (e *ConsumerConflictError) Error() string {
	return fmt.Sprintf("consumer %s is at seq %d; a move backward needs force", e.Current.Name, e.Current.Seq)
}

func (e *ConsumerConflictError) Unwrap() error { return ErrConflict }
