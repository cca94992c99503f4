// Package pgstore keeps apie's event log in PostgreSQL: a store.EventLog
// that any number of apie-serve processes share, one chain across them.
//
// The schema (created on Open, in the schema Options.Schema names, and
// migrated from an older version there):
//
//	events(seq bigint PRIMARY KEY, hash bytea UNIQUE, event_id text UNIQUE, record bytea,
//	       stream text, stream_seq bigint)             -- UNIQUE (stream, stream_seq)
//	streams(name text PRIMARY KEY, version bigint,
//	        first_seq, first_hash, last_seq, last_hash) -- one row per stream
//	head(one boolean PRIMARY KEY, seq bigint, hash bytea, erasures bigint) -- exactly one row
//	consumers(name text PRIMARY KEY, after bytea, seq bigint, updated_at, updated_by)
//	meta(version int)                                   -- the schema's version, 2
//
// record holds the same bytes the file log stores on a line (the record's
// JCS encoding, without '\n'), so a log moved between backends keeps its
// head hash; hash, event_id, stream and stream_seq are copies of the
// record's members, kept for lookups, and streams sums up each stream
// (its version, first and last events) for StreamHead and ListStreams.
// Stream names are compared in byte order (COLLATE "C"), so that a prefix
// (LIKE 'name/%') is an index range. An erase (see Erase) rewrites an
// event's record in place, in the transaction that appends its
// tombstone, and counts itself in head.erasures. Appends are grouped (group commit): the appends a process
// receives while a transaction runs go together in the next one, which
// locks the head row (SELECT … FOR UPDATE), so that appends from every
// process serialize on it, resolves retries by eventId, checks each
// append's If-Match, inserts the new rows and moves the head. Each append
// returns only after the COMMIT that holds it, which PostgreSQL makes
// durable (synchronous_commit, the default). An append refused alone
// (If-Match, a conflict) does not fail the others of its transaction.
//
// Errors that say PostgreSQL cannot be reached, is restarting or stopped
// answering wrap store.ErrUnavailable (503). An append whose COMMIT
// outcome is unknown (the connection broke during it) is one of them: it
// is not acknowledged, and a retry with the same eventIds is safe.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"apie/store"
	"apie/sum"
)

// schemaVersion is the version of the tables this package creates.
// Version 1 had no streams, erasures or consumers; Open migrates it.
const schemaVersion = 2

// Options configure Open.
type Options struct {
	DSN    string // a PostgreSQL connection string (URL or key=value)
	Schema string // the schema holding apie's tables; "" = "apie"
	// Now returns the time stamped on new events; nil = time.Now.
	Now func() time.Time
	// TxTimeout bounds one group commit's transaction, so that appends do
	// not wait forever on a PostgreSQL that does not answer (they fail
	// with store.ErrUnavailable); 0 = 30 seconds.
	TxTimeout time.Duration
	// NoGroupCommit runs each append in a transaction of its own, in the
	// caller's goroutine, instead of grouping concurrent ones.
	NoGroupCommit bool
	// Existing refuses to create the tables: Open fails when the schema
	// holds none (tools that check a store must not make an empty one).
	Existing bool
}

// EventLog is a store.EventLog in PostgreSQL. It is safe for concurrent
// use, by any number of processes.
type EventLog struct {
	pool   *pgxpool.Pool
	schema string
	now    func() time.Time
	t      tables
	// existing: migrate must find the tables, not create them
	existing  bool
	txTimeout time.Duration

	// Group commit (nil calls: off): Append hands its call to the
	// committer goroutine, which Close stops.
	calls   chan *call
	quit    chan struct{}
	stopped chan struct{}
	cancel  context.CancelFunc

	closeOnce sync.Once
}

// tables are the quoted, schema-qualified table names.
type tables struct {
	events, head, meta, streams, consumers string
}

var _ store.EventLog = (*EventLog)(nil)

// Open connects to PostgreSQL, creates the schema and tables if they are
// missing, and checks their version.
func Open(ctx context.Context, opts Options) (*EventLog, error) {
	if opts.Schema == "" {
		opts.Schema = "apie"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TxTimeout <= 0 {
		opts.TxTimeout = 30 * time.Second
	}
	cfg, err := pgxpool.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres event log: parse the connection string: %w", errNoSecret(unavailable(err)))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres event log: connect: %w", unavailable(err))
	}
	l := &EventLog{pool: pool, schema: opts.Schema, now: opts.Now, existing: opts.Existing, txTimeout: opts.TxTimeout, t: tables{
		events: pgx.Identifier{opts.Schema, "events"}.Sanitize(),
		head:   pgx.Identifier{opts.Schema, "head"}.Sanitize(),
		meta:   pgx.Identifier{opts.Schema, "meta"}.Sanitize(),

		streams:   pgx.Identifier{opts.Schema, "streams"}.Sanitize(),
		consumers: pgx.Identifier{opts.Schema, "consumers"}.Sanitize(),
	}}
	if err := l.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if !opts.NoGroupCommit {
		l.calls, l.quit, l.stopped = make(chan *call), make(chan struct{}), make(chan struct{})
		var cctx context.Context
		cctx, l.cancel = context.WithCancel(context.Background())
		go l.committer(cctx)
	}
	return l, nil
}

// errNoSecret keeps a connection string's parse error from repeating the
// string, which may hold a password.
func errNoSecret(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("the connection string is not valid")
	}
	return err
}

// Close stops group commit, letting the transaction under way finish, and
// closes the connections. Appends after Close fail with store.ErrClosed.
func (l *EventLog) Close() error {
	l.closeOnce.Do(func() {
		if l.calls != nil {
			close(l.quit)
			<-l.stopped
			l.cancel()
		}
		l.pool.Close()
	})
	return nil
}

// migrate creates the tables in one transaction, under an advisory lock so
// that processes starting together do not race, and checks the version.
func (l *EventLog) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		// The lock's key is fixed: creating two schemas at once costs a wait.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7061706965)"); err != nil {
			return fmt.Errorf("postgres event log: lock for the schema: %w", unavailable(err))
		}
		if l.existing {
			var found bool
			if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", l.t.meta).Scan(&found); err != nil {
				return fmt.Errorf("postgres event log: look for the tables: %w", unavailable(err))
			}
			if !found {
				return fmt.Errorf("postgres event log: schema %s holds no apie tables", l.schema)
			}
		}
		stmts := []string{
			"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{l.schema}.Sanitize(),
			"CREATE TABLE IF NOT EXISTS " + l.t.meta + " (version int NOT NULL)",
			"CREATE TABLE IF NOT EXISTS " + l.t.events + ` (
				seq bigint PRIMARY KEY CHECK (seq > 0),
				hash bytea NOT NULL UNIQUE,
				event_id text NOT NULL UNIQUE,
				record bytea NOT NULL)`,
			"CREATE TABLE IF NOT EXISTS " + l.t.head + ` (
				one boolean PRIMARY KEY DEFAULT true CHECK (one),
				seq bigint NOT NULL,
				hash bytea NOT NULL)`,
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("postgres event log: create the tables: %w", unavailable(err))
			}
		}
		var version int
		err := tx.QueryRow(ctx, "SELECT version FROM "+l.t.meta).Scan(&version)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := tx.Exec(ctx, "INSERT INTO "+l.t.meta+" (version) VALUES (1)"); err != nil {
				return fmt.Errorf("postgres event log: record the schema version: %w", unavailable(err))
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+l.t.head+" (seq, hash) VALUES (0, $1)", sum.Genesis[:]); err != nil {
				return fmt.Errorf("postgres event log: make the head: %w", unavailable(err))
			}
			version = 1
		case err != nil:
			return fmt.Errorf("postgres event log: read the schema version: %w", unavailable(err))
		case version > schemaVersion || version < 1:
			return fmt.Errorf("postgres event log: schema %s is at version %d; this apie knows versions 1 to %d", l.schema, version, schemaVersion)
		}
		if version < 2 {
			if err := l.migrateTo2(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// migrateTo2 adds what version 2 has: the stream columns and their index,
// the streams summary, the erase count and the consumers. A version 1
// log holds no stream events (it refused them), so the new columns start
// empty, and no erased ones.
func (l *EventLog) migrateTo2(ctx context.Context, tx pgx.Tx) error {
	stmts := []string{
		"ALTER TABLE " + l.t.events + ` ADD COLUMN stream text COLLATE "C", ADD COLUMN stream_seq bigint,
			ADD CONSTRAINT events_stream_check CHECK ((stream IS NULL) = (stream_seq IS NULL) AND (stream_seq IS NULL OR stream_seq > 0)),
			ADD CONSTRAINT events_stream_seq_key UNIQUE (stream, stream_seq)`,
		"CREATE TABLE " + l.t.streams + ` (
			name text COLLATE "C" PRIMARY KEY,
			version bigint NOT NULL CHECK (version > 0),
			first_seq bigint NOT NULL,
			first_hash bytea NOT NULL,
			last_seq bigint NOT NULL,
			last_hash bytea NOT NULL)`,
		"ALTER TABLE " + l.t.head + " ADD COLUMN erasures bigint NOT NULL DEFAULT 0",
		"CREATE TABLE " + l.t.consumers + ` (
			name text COLLATE "C" PRIMARY KEY,
			after bytea NOT NULL,
			seq bigint NOT NULL CHECK (seq >= 0),
			updated_at timestamptz NOT NULL,
			updated_by text NOT NULL)`,
		"UPDATE " + l.t.meta + " SET version = 2",
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("postgres event log: migrate schema %s to version 2: %w", l.schema, unavailable(err))
		}
	}
	return nil
}

// Head returns the committed head.
func (l *EventLog) Head(ctx context.Context) (store.Head, error) {
	var seq int64
	var hash []byte
	if err := l.pool.QueryRow(ctx, "SELECT seq, hash FROM "+l.t.head).Scan(&seq, &hash); err != nil {
		return store.Head{}, fmt.Errorf("postgres event log: read the head: %w", unavailable(err))
	}
	return toHead(seq, hash)
}

func toHead(seq int64, hash []byte) (store.Head, error) {
	h, err := toHash(hash)
	if err != nil || seq < 0 {
		return store.Head{}, &store.CorruptionError{Path: "head", Offset: -1, Reason: fmt.Sprintf("bad head row: seq %d, hash %x", seq, hash)}
	}
	return store.Head{Seq: uint64(seq), Hash: h}, nil
}

func toHash(b []byte) (sum.Hash, error) {
	var h sum.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("a hash of %d bytes", len(b))
	}
	copy(h[:], b)
	return h, nil
}

// Lookup returns the seq of the event whose hash is h.
func (l *EventLog) Lookup(ctx context.Context, h sum.Hash) (uint64, error) {
	var seq int64
	err := l.pool.QueryRow(ctx, "SELECT seq FROM "+l.t.events+" WHERE hash = $1", h[:]).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("lookup %s: %w", h, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("postgres event log: lookup %s: %w", h, unavailable(err))
	}
	return uint64(seq), nil
}

// Record returns the stored bytes of record seq.
func (l *EventLog) Record(ctx context.Context, seq uint64) ([]byte, error) {
	if seq == 0 || seq > maxSeq {
		return nil, fmt.Errorf("record %d: %w", seq, store.ErrNotFound)
	}
	var rec []byte
	err := l.pool.QueryRow(ctx, "SELECT record FROM "+l.t.events+" WHERE seq = $1", int64(seq)).Scan(&rec)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("record %d: %w", seq, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres event log: record %d: %w", seq, unavailable(err))
	}
	return rec, nil
}

// maxSeq is the largest seq a bigint holds.
const maxSeq = 1<<63 - 1
