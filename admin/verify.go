package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"apie/app"
	"apie/store"
	"apie/sum"
)

// runVerify checks the event log and the blob store offline, prints a
// report and returns 0 when both are sound, 1 otherwise. It checks the
// stores apie.json selects: files, or the log in PostgreSQL and the blobs
// in an S3-compatible bucket.
// It never makes a store of files: a missing event log is reported, exit
// 1, and a missing blob directory beside an event log is a store with no
// blobs yet.
func runVerify(ctx context.Context, env Env) int {
	stores := app.NewStores(env.Config, nil).Existing()
	defer stores.Close()
	code, log := verifyLog(ctx, env, stores)
	// Consumers are kept in files beside a log of files (not yet beside
	// one in PostgreSQL).
	if log != nil && env.Config.EventLog.Postgres == nil && verifyConsumers(ctx, env, stores, log.Lookup) != nil {
		code = 1
	}
	if env.Config.ContentStore.S3 == nil {
		if _, err := os.Stat(env.Config.ContentStore.Path); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(env.Stdout, "blobs: ok, none stored yet\n")
			return code
		}
	}
	blobs, err := stores.Blobs(ctx)
	if err != nil {
		fmt.Fprintf(env.Stdout, "blobs: cannot verify: %s\n", err)
		return 1
	}
	rep, err := blobs.Verify(ctx, true)
	if err != nil {
		fmt.Fprintf(env.Stdout, "blobs: cannot verify: %s\n", err)
		return 1
	}
	if len(rep.Bad) == 0 {
		fmt.Fprintf(env.Stdout, "blobs: ok, %d blobs, %d bytes\n", rep.Blobs, rep.Bytes)
		return code
	}
	for _, b := range rep.Bad {
		fmt.Fprintf(env.Stdout, "blobs: DAMAGED: %s (%s): %s\n", b.Hash, b.Path, b.Reason)
	}
	return 1
}

// verifyLog checks the event log, prints its line of the report and
// returns the exit code and the log (nil if it could not be opened).
func verifyLog(ctx context.Context, env Env, stores *app.Stores) (int, store.EventLog) {
	if env.Config.EventLog.Postgres == nil {
		if err := needFile(env.Config, env.Config.EventLog.Path, "event log"); err != nil {
			fmt.Fprintf(env.Stdout, "events: cannot verify: %s\n", err)
			return 1, nil
		}
	}
	log, err := stores.Log(ctx)
	if err != nil {
		fmt.Fprintf(env.Stdout, "events: cannot verify: %s\n", err)
		return 1, nil
	}
	rep, err := log.Verify(ctx, true)
	if err == nil {
		fmt.Fprintf(env.Stdout, "events: ok, %d events (%d erased), %d bytes, head %s\n", rep.Events, rep.Erased, rep.Bytes, rep.Head)
		return 0, log
	}
	var c *store.CorruptionError
	if errors.As(err, &c) {
		fmt.Fprintf(env.Stdout, "events: DAMAGED: %s\n", c)
	} else {
		fmt.Fprintf(env.Stdout, "events: cannot verify: %s\n", err)
	}
	return 1, log
}

// errConsumersBad says verifyConsumers printed damage.
var errConsumersBad = errors.New("consumers damaged")

// verifyConsumers checks every consumer's slots and that its position is
// an event of the log (lookup), and prints one line per damaged consumer, naming it
// and the command that removes it.
func verifyConsumers(ctx context.Context, env Env, stores *app.Stores, lookup func(context.Context, sum.Hash) (uint64, error)) error {
	cs, err := stores.Consumers(ctx)
	if err != nil {
		fmt.Fprintf(env.Stdout, "consumers: cannot verify: %s\n", err)
		return err
	}
	rep, err := cs.Verify(ctx, lookup)
	if err != nil {
		fmt.Fprintf(env.Stdout, "consumers: cannot verify: %s\n", err)
		return err
	}
	torn := ""
	if rep.TornSlots > 0 {
		torn = fmt.Sprintf(" (%d slot(s) cut by a crash or damaged; the older position is in use, and the next move rewrites it)", rep.TornSlots)
	}
	if len(rep.Damaged) == 0 {
		fmt.Fprintf(env.Stdout, "consumers: ok, %d consumers%s\n", rep.Consumers, torn)
		return nil
	}
	for _, d := range rep.Damaged {
		fmt.Fprintf(env.Stdout, "consumers: DAMAGED: %s\n", d)
	}
	return errConsumersBad
}
