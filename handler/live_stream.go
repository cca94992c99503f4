package handler

import (
	"context"
	"fmt"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Live reads of a stream (stream=, recursive=true): the events come from
// the stream index, so a replay costs in proportion to the stream's
// events, never to the length of the log.

// streamPage is how many seqs one stream-index query returns: memory
// holds one page of seqs (8 bytes each), never the whole stream's.
const streamPage = 1 << 14

// eachStreamRecord calls fn with each event of lr's stream selection
// after lr.cursor up to last, in log order, with its stored record and,
// when decode is set, its decoded event. The record is valid only during
// the call. An error from fn stops the walk and is returned.
func eachStreamRecord(ctx context.Context, log store.EventLog, lr *liveRead, last uint64, decode bool, fn func(seq uint64, rec []byte, ev *event.Event) error) error {
	after := lr.cursor
	for after < last {
		seqs, err := lr.streams.StreamSeqs(ctx, store.StreamQuery{
			Stream: lr.filter.stream, Recursive: lr.filter.recursive, After: after, Last: last, Limit: streamPage,
		})
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			rec, err := log.Record(ctx, seq)
			if err != nil {
				return fmt.Errorf("read record %d of stream %s: %w", seq, lr.filter.stream, err)
			}
			var ev *event.Event
			if decode {
				e, err := event.DecodeRecord(rec)
				if err != nil {
					return fmt.Errorf("decode record %d of stream %s: %w", seq, lr.filter.stream, err)
				}
				ev = &e
			}
			if err := fn(seq, rec, ev); err != nil {
				return err
			}
		}
		if len(seqs) < streamPage {
			return nil
		}
		after = seqs[len(seqs)-1]
	}
	return nil
}

// streamMark is what caughtUp names for a stream follow at log seq last:
// the selection's last event at or before it and how many events the
// selection holds up to there (for one stream: its version, as
// HEAD /events?stream= counts it; eventType= does not change either).
// A selection without events yet is Genesis and 0, as for an empty log.
func streamMark(ctx context.Context, log store.EventLog, lr *liveRead, last uint64) (sum.Hash, uint64, error) {
	if last == 0 {
		return sum.Genesis, 0, nil
	}
	if !lr.filter.recursive {
		info, err := lr.streams.StreamHead(ctx, lr.filter.stream)
		if err != nil {
			return sum.Hash{}, 0, err
		}
		if info.Version == 0 {
			return sum.Genesis, 0, nil
		}
		if info.LastSeq <= last {
			return info.Last, info.Version, nil
		}
		// Appended since the head was read: count up to last below.
	}
	seqs, err := lr.streams.StreamSeqs(ctx, store.StreamQuery{Stream: lr.filter.stream, Recursive: lr.filter.recursive, Last: last})
	if err != nil {
		return sum.Hash{}, 0, err
	}
	if len(seqs) == 0 {
		return sum.Genesis, 0, nil
	}
	hash, err := hashOf(ctx, log, seqs[len(seqs)-1])
	if err != nil {
		return sum.Hash{}, 0, err
	}
	return hash, uint64(len(seqs)), nil
}
