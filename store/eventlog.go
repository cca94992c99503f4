package store

import (
	"context"
	"io"

	"apie/event"
	"apie/sum"
)

// EventLog is an append-only, hash-chained log of events: what the HTTP
// layer needs of one. Implementations are safe for concurrent use.
type EventLog interface {
	// Head returns the committed head: {0, sum.Genesis} for an empty log.
	Head(ctx context.Context) (Head, error)
	// Append appends the request's drafts atomically, all or none, and
	// returns once they are durable. A draft whose client-chosen eventId is
	// stored with the same eventType and body is a retry: the stored event
	// is returned and not appended again; other content under that eventId
	// is an error wrapping ErrConflict. If anything new remains, an IfMatch
	// other than the head is a *PreconditionError.
	Append(ctx context.Context, req AppendRequest) (AppendResult, error)
	// Lookup returns the seq of the committed event whose hash is h, or an
	// error wrapping ErrNotFound.
	Lookup(ctx context.Context, h sum.Hash) (uint64, error)
	// Record returns the exact stored bytes (no '\n') of committed record
	// seq; a seq that is not committed is ErrNotFound.
	Record(ctx context.Context, seq uint64) ([]byte, error)
	// Reader streams committed records first..last inclusive, each followed
	// by '\n' (NDJSON). It needs 1 ≤ first ≤ last ≤ Head().Seq, else
	// ErrNotFound. The caller closes it.
	Reader(ctx context.Context, first, last uint64) (io.ReadCloser, error)
	// Verify checks the whole log; damage is a *CorruptionError. With
	// fixModes it first repairs the permissions of the log's files.
	Verify(ctx context.Context, fixModes bool) (LogReport, error)
}

// Head is the committed head of the log: the last event's seq and hash,
// or {0, sum.Genesis} for an empty log.
type Head struct {
	Seq  uint64
	Hash sum.Hash
}

// AppendRequest is one atomic append: its drafts are appended all or none,
// with consecutive seqs.
type AppendRequest struct {
	Drafts    []event.Draft
	CreatedBy string
	IfMatch   *sum.Hash // nil = unconditional; sum.Genesis = only if the log is empty
	// Each draft's Stream and ExpectedVersion: an expectedVersion other
	// than its stream's version (the request's earlier events counted) is
	// a *StreamVersionError, checked atomically with IfMatch.
}

// AppendResult is the outcome of an AppendRequest.
type AppendResult struct {
	Events   []event.Event // one per draft, in request order: the stored one for a retried eventId
	Records  [][]byte      // each event's record bytes (no '\n')
	Appended int           // how many were newly appended (0 = every one was a retry)
}

// LogReport is what Verify found: the number of events, the head hash and
// the committed bytes of the log.
type LogReport struct {
	Events uint64
	Erased uint64 // events whose body was erased (each named by a later apie.erased event)
	Head   sum.Hash
	Bytes  int64
}
