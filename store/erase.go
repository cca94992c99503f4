package store

import (
	"context"
	"errors"

	"apie/sum"
)

// ErrNotErasable (400) is wrapped by an erase that cannot be done: the
// event is itself an apie.erased tombstone, or an event stored without a
// bodySalt whose body is shorter than null, so the erased record would
// not fit in its place.
var ErrNotErasable = errors.New("event cannot be erased")

// Eraser is an EventLog that can erase a body (see the README, Erasure).
type Eraser interface {
	// Erase erases the body of the committed event whose hash is h, in
	// one locked, durable operation: its stored record loses its body
	// (null) and bodySalt, and an apie.erased event naming it, appended
	// by createdBy with reason, records the erasure in the chain. It
	// returns that event and its record. Erasing an erased event again
	// returns the same tombstone and changes nothing. An unknown hash is
	// ErrNotFound; a tombstone (or a body that cannot be erased in place)
	// ErrNotErasable.
	Erase(ctx context.Context, h sum.Hash, reason, createdBy string) (AppendResult, error)
	// Erasures returns how many erases the log has made so far (its
	// erase generation): it changes whenever a body is erased, so it can
	// be part of a cache validator.
	Erasures(ctx context.Context) (uint64, error)
}
