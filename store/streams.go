package store

import (
	"context"
	"fmt"

	"apie/sum"
)

// Streams is what the HTTP layer needs of a log's streams. Every read
// costs in proportion to what it returns (plus, for prefix reads, the
// number of streams), never to the length of the log. A stream that was
// never written reads as empty: version 0, no events.
//
// A backend without streams does not implement it; it must then refuse
// appends that name a stream or expect a version (ErrUnsupported).
type Streams interface {
	// StreamHead returns a stream's version and its first and last
	// events; Version 0 (and zero seqs) for a stream with no events.
	StreamHead(ctx context.Context, name string) (StreamInfo, error)
	// StreamSeqs returns, in log order, the seqs of the committed events
	// of q.Stream (and, with q.Recursive, of every stream below it) with
	// After < seq ≤ Last (Last 0: the head), at most q.Limit of them
	// (0: no limit).
	StreamSeqs(ctx context.Context, q StreamQuery) ([]uint64, error)
	// StreamRead is StreamSeqs that also returns the records (the exact
	// stored bytes, as EventLog.Record returns them) of the first of the
	// seqs, in order, as many as fit in budget bytes, so that a reader
	// sends them without reading them again; the rest it reads by seq.
	StreamRead(ctx context.Context, q StreamQuery, budget int) (seqs []uint64, recs [][]byte, err error)
	// ListStreams returns the streams named prefix or below it (every
	// stream if prefix is ""), ordered by name, starting after the name
	// after, at most limit of them (0: no limit).
	ListStreams(ctx context.Context, prefix, after string, limit int) ([]StreamInfo, error)
}

// StreamQuery selects the events of a stream read.
type StreamQuery struct {
	Stream    string
	Recursive bool   // also the streams below Stream (/orders → /orders/42, never /orders2)
	After     uint64 // only seqs after this one
	Last      uint64 // only seqs up to this one; 0 = the head
	Limit     int    // at most this many; 0 = all
}

// StreamInfo describes a stream: its version (the streamSeq of its last
// event) and the seqs and hashes of its first and last events.
type StreamInfo struct {
	Stream   string
	Version  uint64
	FirstSeq uint64
	LastSeq  uint64
	First    sum.Hash
	Last     sum.Hash
}

// StreamVersionError is returned (wrapping ErrPrecondition) when an
// event's expectedVersion is not its stream's version: Current is the
// version at the time of the check, the request's earlier events counted.
type StreamVersionError struct {
	Stream   string
	Expected uint64
	Current  uint64
}

func (e *StreamVersionError) Error() string {
	return fmt.Sprintf("precondition failed: stream %s is at version %d, not %d", e.Stream, e.Current, e.Expected)
}

func (e *StreamVersionError) Unwrap() error { return ErrPrecondition }
