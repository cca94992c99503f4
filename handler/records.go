package handler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// hashOf returns the hash of committed event seq.
func hashOf(ctx context.Context, log store.EventLog, seq uint64) (sum.Hash, error) {
	rec, err := log.Record(ctx, seq)
	if err != nil {
		return sum.Hash{}, err
	}
	ev, err := event.DecodeRecord(rec)
	if err != nil {
		return sum.Hash{}, err
	}
	return ev.Hash, nil
}

// eachRecord streams records first..last and calls fn with each (without
// its '\n'; the slice is valid only during the call) and, when decode is
// set, its decoded event. Memory stays within a buffer and one record.
func eachRecord(ctx context.Context, log store.EventLog, first, last uint64, decode bool, fn func(rec []byte, ev *event.Event) error) error {
	rd, err := log.Reader(ctx, first, last)
	if err != nil {
		return err
	}
	defer rd.Close()
	br := bufio.NewReaderSize(rd, 64<<10)
	var long []byte
	for seq := first; seq <= last; seq++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read record %d: %w", seq, err)
		}
		rec := line[:len(line)-1]
		var ev *event.Event
		if decode {
			e, err := event.DecodeRecord(rec)
			if err != nil {
				return fmt.Errorf("decode record %d: %w", seq, err)
			}
			ev = &e
		}
		if err := fn(rec, ev); err != nil {
			return err
		}
	}
	return nil
}

// copyRange copies records first..last, as stored (NDJSON), to w.
func copyRange(ctx context.Context, w io.Writer, log store.EventLog, first, last uint64) error {
	rd, err := log.Reader(ctx, first, last)
	if err != nil {
		return err
	}
	defer rd.Close()
	if _, err := io.Copy(w, rd); err != nil {
		return fmt.Errorf("copy records %d..%d: %w", first, last, err)
	}
	return nil
}
