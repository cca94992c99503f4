package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"apie/store"
)

// Streams: each event of a stream has its row's stream and stream_seq
// set (UNIQUE (stream, stream_seq), an index), and the streams table
// sums each stream up. Every read here is an index lookup or range scan.

var _ store.Streams = (*EventLog)(nil)

// StreamHead implements store.Streams: one row of the streams table.
func (l *EventLog) StreamHead(ctx context.Context, name string) (store.StreamInfo, error) {
	info := store.StreamInfo{Stream: name}
	var version, firstSeq, lastSeq int64
	var first, last []byte
	err := l.pool.QueryRow(ctx, "SELECT version, first_seq, first_hash, last_seq, last_hash FROM "+l.t.streams+" WHERE name = $1", name).
		Scan(&version, &firstSeq, &first, &lastSeq, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return info, nil
	}
	if err != nil {
		return info, fmt.Errorf("postgres event log: stream %s: %w", name, unavailable(err))
	}
	return l.streamInfo(name, version, firstSeq, first, lastSeq, last)
}

func (l *EventLog) streamInfo(name string, version, firstSeq int64, first []byte, lastSeq int64, last []byte) (store.StreamInfo, error) {
	info := store.StreamInfo{Stream: name, Version: uint64(version), FirstSeq: uint64(firstSeq), LastSeq: uint64(lastSeq)}
	var err1, err2 error
	info.First, err1 = toHash(first)
	info.Last, err2 = toHash(last)
	if err := errors.Join(err1, err2); err != nil || version < 1 || firstSeq < 1 || lastSeq < firstSeq {
		return info, &store.CorruptionError{Path: l.t.streams, Offset: -1, Seq: uint64(lastSeq),
			Reason: fmt.Sprintf("bad row for stream %s (version %d, seqs %d..%d)", name, version, firstSeq, lastSeq)}
	}
	return info, nil
}

// likePrefix returns the LIKE pattern of the streams below name: name
// with LIKE's metacharacters escaped, then "/%".
func likePrefix(name string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(name) + "/%"
}

// StreamSeqs implements store.Streams: a range scan of the index on
// (stream, stream_seq) for one stream, of the names' range for a
// recursive read, in log order.
func (l *EventLog) StreamSeqs(ctx context.Context, q store.StreamQuery) ([]uint64, error) {
	seqs, _, err := l.StreamRead(ctx, q, 0)
	return seqs, err
}

// StreamRead implements store.Streams: StreamSeqs with the records of
// the first seqs that fit in budget bytes, read by the same query.
func (l *EventLog) StreamRead(ctx context.Context, q store.StreamQuery, budget int) ([]uint64, [][]byte, error) {
	last := int64(maxSeq)
	if q.Last > 0 && q.Last < maxSeq {
		last = int64(q.Last)
	}
	if q.After >= maxSeq {
		return nil, nil, nil
	}
	var limit any // NULL: no limit
	if q.Limit > 0 {
		limit = q.Limit
	}
	where := "stream = $1"
	args := []any{q.Stream, int64(q.After), last, limit}
	if q.Recursive {
		where = `(stream = $1 OR stream LIKE $5 ESCAPE '\')`
		args = append(args, likePrefix(q.Stream))
	}
	// The records come only while they fit in the budget (budget 0: none).
	args = append(args, budget)
	n := len(args)
	rows, err := l.pool.Query(ctx, "SELECT seq, CASE WHEN sum(length(record)) OVER (ORDER BY seq) <= $"+strconv.Itoa(n)+
		" THEN record END FROM "+l.t.events+" WHERE "+where+" AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres event log: read stream %s: %w", q.Stream, unavailable(err))
	}
	defer rows.Close()
	var seqs []uint64
	var recs [][]byte
	for rows.Next() {
		var seq int64
		var rec []byte
		if err := rows.Scan(&seq, &rec); err != nil {
			return nil, nil, fmt.Errorf("postgres event log: read stream %s: %w", q.Stream, unavailable(err))
		}
		seqs = append(seqs, uint64(seq))
		if rec != nil && len(recs) == len(seqs)-1 {
			recs = append(recs, rec)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("postgres event log: read stream %s: %w", q.Stream, unavailable(err))
	}
	return seqs, recs, nil
}

// ListStreams implements store.Streams: a range of the streams table's
// primary key, in byte order.
func (l *EventLog) ListStreams(ctx context.Context, prefix, after string, limit int) ([]store.StreamInfo, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	where := "name > $1"
	args := []any{after, lim}
	if prefix != "" {
		where += ` AND (name = $3 OR name LIKE $4 ESCAPE '\')`
		args = append(args, prefix, likePrefix(prefix))
	}
	rows, err := l.pool.Query(ctx, "SELECT name, version, first_seq, first_hash, last_seq, last_hash FROM "+l.t.streams+
		" WHERE "+where+" ORDER BY name LIMIT $2", args...)
	if err != nil {
		return nil, fmt.Errorf("postgres event log: list streams: %w", unavailable(err))
	}
	defer rows.Close()
	var out []store.StreamInfo
	for rows.Next() {
		var name string
		var version, firstSeq, lastSeq int64
		var first, last []byte
		if err := rows.Scan(&name, &version, &firstSeq, &first, &lastSeq, &last); err != nil {
			return nil, fmt.Errorf("postgres event log: list streams: %w", unavailable(err))
		}
		info, err := l.streamInfo(name, version, firstSeq, first, lastSeq, last)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres event log: list streams: %w", unavailable(err))
	}
	return out, nil
}
