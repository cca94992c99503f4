package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"apie/app"
	"apie/store"
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
	code := verifyLog(ctx, env, stores)
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

// verifyLog checks the event log and prints its line of the report.
func verifyLog(ctx context.Context, env Env, stores *app.Stores) int {
	if env.Config.EventLog.Postgres == nil {
		if err := needFile(env.Config, env.Config.EventLog.Path, "event log"); err != nil {
			fmt.Fprintf(env.Stdout, "events: cannot verify: %s\n", err)
			return 1
		}
	}
	log, err := stores.Log(ctx)
	if err == nil {
		var rep store.LogReport
		rep, err = log.Verify(ctx, true)
		if err == nil {
			fmt.Fprintf(env.Stdout, "events: ok, %d events, %d bytes, head %s\n", rep.Events, rep.Bytes, rep.Head)
			return 0
		}
	}
	var c *store.CorruptionError
	if errors.As(err, &c) {
		fmt.Fprintf(env.Stdout, "events: DAMAGED: %s\n", c)
	} else {
		fmt.Fprintf(env.Stdout, "events: cannot verify: %s\n", err)
	}
	return 1
}
