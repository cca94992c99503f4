package consumerstore

import (
	"context"
	"errors"
	"fmt"

	"apie/store"
	"apie/sum"
)

// Report is what Verify found.
type Report struct {
	Consumers int // consumers read, damaged ones included
	// TornSlots counts slots that fail their checks beside a good one: a
	// move cut by a crash (or damage); the good slot, the consumer's
	// older position, is used, and the next move overwrites the bad one.
	TornSlots int
	Damaged   []Damage
}

// Damage is one consumer Verify found unusable: both its slots fail their
// checks, or its position is not an event of the log.
type Damage struct {
	Name   string // "" when no slot shows a name
	Offset int64  // the pair's offset in the slot file
	Reason string // says what is wrong and that "consumer rm NAME" removes it
}

func (d Damage) String() string {
	name := d.Name
	if name == "" {
		name = "(name unreadable)"
	}
	return fmt.Sprintf("consumer %s (offset %d): %s", name, d.Offset, d.Reason)
}

// Verify reads every slot under the writers' lock. lookup, when not nil,
// resolves a position's hash to its seq in the event log (store.ErrNotFound
// for a hash the log does not have), and every consumer's position must be
// an event of the log with the seq the consumer holds. Damage is in the
// report; an error is a failure to read (or to look up).
func (s *Store) Verify(ctx context.Context, lookup func(context.Context, sum.Hash) (uint64, error)) (Report, error) {
	var rep Report
	f, err := s.openSlots(0)
	if err != nil {
		if isNotExist(err) {
			return rep, nil
		}
		return rep, fmt.Errorf("verify consumers: %w", err)
	}
	defer f.Close()
	pairs, err := underLock(s, ctx, func() ([]pair, error) { return readPairs(f) })
	if err != nil {
		return rep, fmt.Errorf("verify consumers: %w", err)
	}
	for _, p := range pairs {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("verify consumers: %w", err)
		}
		if p.damaged {
			rep.Consumers++
			rep.Damaged = append(rep.Damaged, Damage{Name: p.name, Offset: p.index * pairSize,
				Reason: p.reason + "; " + fix(p.name)})
			continue
		}
		if p.live {
			rep.TornSlots += p.badSlot
			rep.Consumers++
		}
		if !p.live || lookup == nil || p.c.AtStart() {
			continue
		}
		seq, err := lookup(ctx, p.c.After)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rep.Damaged = append(rep.Damaged, Damage{Name: p.c.Name, Offset: p.index * pairSize,
				Reason: fmt.Sprintf("its position, seq %d (%s), is not an event of the log; %s", p.c.Seq, p.c.After, fix(p.c.Name))})
		case err != nil:
			return rep, fmt.Errorf("verify consumer %s: %w", p.c.Name, err)
		case seq != p.c.Seq:
			rep.Damaged = append(rep.Damaged, Damage{Name: p.c.Name, Offset: p.index * pairSize,
				Reason: fmt.Sprintf("its position %s is seq %d in the log, not %d; %s", p.c.After, seq, p.c.Seq, fix(p.c.Name))})
		}
	}
	return rep, nil
}

// fix says how to repair a damaged consumer.
func fix(name string) string {
	if name == "" {
		return "no command can name it: restore the slot file from a backup, or remove it (all consumers) with the server stopped"
	}
	return `the admin command "consumer rm ` + name + `" removes it (then move it again)`
}
