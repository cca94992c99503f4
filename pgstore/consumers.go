package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"apie/store"
	"apie/sum"
)

// Consumers is a store.ConsumerStore in the log's consumers table, shared
// by every process that shares the log. A Move is a compare-and-swap in
// one transaction, under a lock on the consumer's name (an advisory
// lock, so that two first moves of one name serialize too); it is
// durable once committed.
type Consumers struct {
	l *EventLog
}

var _ store.ConsumerStore = (*Consumers)(nil)

// maxUpdatedBy bounds a consumer's updatedBy, as the file store does.
const maxUpdatedBy = 256

// ConsumerStore returns the consumers kept with the log.
func (l *EventLog) ConsumerStore() *Consumers { return &Consumers{l: l} }

// Get implements store.ConsumerStore.
func (c *Consumers) Get(ctx context.Context, name string) (store.Consumer, error) {
	if err := store.CheckConsumerName(name); err != nil {
		return store.Consumer{}, err
	}
	cons, ok, err := c.get(ctx, c.l.pool, name, false)
	if err != nil {
		return store.Consumer{}, fmt.Errorf("postgres consumers: consumer %s: %w", name, unavailableUnlessCorrupt(err))
	}
	if !ok {
		return store.Consumer{}, fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	return cons, nil
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const consumerColumns = "name, after, seq, updated_at, updated_by"

func (c *Consumers) get(ctx context.Context, q querier, name string, lock bool) (store.Consumer, bool, error) {
	sql := "SELECT " + consumerColumns + " FROM " + c.l.t.consumers + " WHERE name = $1"
	if lock {
		sql += " FOR UPDATE"
	}
	rows, err := q.Query(ctx, sql, name)
	if err != nil {
		return store.Consumer{}, false, err
	}
	list, err := c.collect(rows)
	if err != nil || len(list) == 0 {
		return store.Consumer{}, false, err
	}
	return list[0], true, nil
}

func (c *Consumers) collect(rows pgx.Rows) ([]store.Consumer, error) {
	defer rows.Close()
	var out []store.Consumer
	for rows.Next() {
		var cons store.Consumer
		var after []byte
		var seq int64
		if err := rows.Scan(&cons.Name, &after, &seq, &cons.UpdatedAt, &cons.UpdatedBy); err != nil {
			return nil, err
		}
		h, err := toHash(after)
		if err != nil || seq < 0 || (seq == 0) != (h == sum.Genesis) {
			return nil, &store.ConsumerDamagedError{Name: cons.Name, Err: &store.CorruptionError{Path: c.l.t.consumers, Offset: -1,
				Reason: fmt.Sprintf("bad row: seq %d, after %x", seq, after)}}
		}
		cons.After, cons.Seq, cons.UpdatedAt = h, uint64(seq), cons.UpdatedAt.UTC()
		out = append(out, cons)
	}
	return out, rows.Err()
}

// List implements store.ConsumerStore.
func (c *Consumers) List(ctx context.Context) ([]store.Consumer, error) {
	rows, err := c.l.pool.Query(ctx, "SELECT "+consumerColumns+" FROM "+c.l.t.consumers+" ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("postgres consumers: list: %w", unavailable(err))
	}
	list, err := c.collect(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres consumers: list: %w", unavailableUnlessCorrupt(err))
	}
	return list, nil
}

// Move implements store.ConsumerStore.
func (c *Consumers) Move(ctx context.Context, m store.ConsumerMove) (store.Consumer, bool, error) {
	if err := store.CheckConsumerName(m.Name); err != nil {
		return store.Consumer{}, false, err
	}
	if (m.Seq == 0) != (m.After == sum.Genesis) || m.Seq > maxSeq {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: seq %d does not go with hash %s", m.Name, m.Seq, m.After)
	}
	if len(m.UpdatedBy) > maxUpdatedBy {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: updatedBy of %d bytes is over the limit of %d", m.Name, len(m.UpdatedBy), maxUpdatedBy)
	}
	var out store.Consumer
	var created bool
	err := pgx.BeginFunc(ctx, c.l.pool, func(tx pgx.Tx) error {
		var err error
		out, created, err = c.moveTx(ctx, tx, m)
		return err
	})
	if err != nil {
		var pe *store.ConsumerPreconditionError
		var ce *store.ConsumerConflictError
		if errors.As(err, &pe) || errors.As(err, &ce) {
			return store.Consumer{}, false, fmt.Errorf("move consumer %s: %w", m.Name, err)
		}
		return store.Consumer{}, false, fmt.Errorf("postgres consumers: move consumer %s: %w", m.Name, unavailableUnlessCorrupt(err))
	}
	return out, created, nil
}

// moveTx is Move's transaction: lock the name, read, judge, write.
func (c *Consumers) moveTx(ctx context.Context, tx pgx.Tx, m store.ConsumerMove) (store.Consumer, bool, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 7061706965))", c.l.t.consumers+"/"+m.Name); err != nil {
		return store.Consumer{}, false, err
	}
	cur, exists, err := c.get(ctx, tx, m.Name, true)
	if err != nil {
		return store.Consumer{}, false, err
	}
	if !exists {
		cur = store.Consumer{Name: m.Name}
	}
	if m.IfAbsent && exists || m.IfMatch != nil && (!exists || *m.IfMatch != cur.After) {
		return store.Consumer{}, false, &store.ConsumerPreconditionError{Current: cur, Exists: exists}
	}
	if exists && m.Seq < cur.Seq && !m.Force {
		return store.Consumer{}, false, &store.ConsumerConflictError{Current: cur}
	}
	if exists && m.Seq == cur.Seq && m.After == cur.After {
		return cur, false, nil
	}
	next := store.Consumer{Name: m.Name, After: m.After, Seq: m.Seq,
		UpdatedAt: c.l.now().UTC().Truncate(time.Microsecond), UpdatedBy: m.UpdatedBy}
	_, err = tx.Exec(ctx, "INSERT INTO "+c.l.t.consumers+" ("+consumerColumns+") VALUES ($1, $2, $3, $4, $5) "+
		"ON CONFLICT (name) DO UPDATE SET after = excluded.after, seq = excluded.seq, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
		next.Name, next.After[:], int64(next.Seq), next.UpdatedAt, next.UpdatedBy)
	if err != nil {
		return store.Consumer{}, false, err
	}
	return next, !exists, nil
}

// Delete implements store.ConsumerStore.
func (c *Consumers) Delete(ctx context.Context, name string) error {
	if err := store.CheckConsumerName(name); err != nil {
		return err
	}
	tag, err := c.l.pool.Exec(ctx, "DELETE FROM "+c.l.t.consumers+" WHERE name = $1", name)
	if err != nil {
		return fmt.Errorf("postgres consumers: delete consumer %s: %w", name, unavailable(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// unavailableUnlessCorrupt is unavailable(err) for errors of PostgreSQL,
// and err itself when it is damage found in a row.
func unavailableUnlessCorrupt(err error) error {
	if errors.Is(err, store.ErrCorrupt) {
		return err
	}
	return unavailable(err)
}

var _ store.ConsumerVerifier = (*Consumers)(nil)

// VerifyConsumers implements store.ConsumerVerifier: every consumer's row
// must be well formed, and its position (but the start) an event of the
// log at the seq it holds. A row that cannot be read is damage named by
// its name.
func (c *Consumers) VerifyConsumers(ctx context.Context, lookup func(context.Context, sum.Hash) (uint64, error)) (int, []store.ConsumerDamage, error) {
	rows, err := c.l.pool.Query(ctx, "SELECT name, after, seq FROM "+c.l.t.consumers+" ORDER BY name")
	if err != nil {
		return 0, nil, fmt.Errorf("postgres consumers: verify: %w", unavailable(err))
	}
	type row struct {
		name  string
		after []byte
		seq   int64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.name, &x.after, &x.seq)
		return x, err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("postgres consumers: verify: %w", unavailable(err))
	}
	fix := func(name string) string {
		return `the admin command "consumer rm ` + name + `" removes it (then move it again)`
	}
	var damaged []store.ConsumerDamage
	for _, x := range list {
		h, err := toHash(x.after)
		if err != nil || x.seq < 0 || (x.seq == 0) != (h == sum.Genesis) {
			damaged = append(damaged, store.ConsumerDamage{Name: x.name, Reason: fmt.Sprintf("its row is not a position (seq %d, after %x); %s", x.seq, x.after, fix(x.name))})
			continue
		}
		if x.seq == 0 {
			continue
		}
		seq, err := lookup(ctx, h)
		switch {
		case errors.Is(err, store.ErrNotFound):
			damaged = append(damaged, store.ConsumerDamage{Name: x.name,
				Reason: fmt.Sprintf("its position, seq %d (%s), is not an event of the log; %s", x.seq, h, fix(x.name))})
		case err != nil:
			return 0, nil, err
		case seq != uint64(x.seq):
			damaged = append(damaged, store.ConsumerDamage{Name: x.name,
				Reason: fmt.Sprintf("its position %s is seq %d in the log, not %d; %s", h, seq, x.seq, fix(x.name))})
		}
	}
	return len(list), damaged, nil
}
