package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"apie/app"
	"apie/store"
)

// runConsumers lists the consumers, ordered by name, with their position
// and lag (events after it). It never makes a store: a missing event log
// is an error.
func runConsumers(ctx context.Context, env Env, args []string) error {
	if len(args) != 0 {
		return usageError("consumers takes no arguments")
	}
	if err := needFile(env.Config, env.Config.EventLog.Path, "event log"); err != nil {
		return err
	}
	stores := app.NewStores(env.Config, nil)
	defer stores.Close()
	log, err := stores.EventLog(ctx)
	if err != nil {
		return err
	}
	cs, err := stores.Consumers(ctx)
	if err != nil {
		return err
	}
	list, err := cs.List(ctx)
	if err != nil {
		return err
	}
	head, err := log.Head(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(env.Stdout, "no consumers (%d events in the log)\n", head.Seq)
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSEQ\tLAG\tAFTER\tUPDATED\tBY")
	for _, c := range list {
		after := "(start)"
		if !c.AtStart() {
			after = c.After.String()
		}
		lag := uint64(0)
		if head.Seq > c.Seq {
			lag = head.Seq - c.Seq
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", c.Name, c.Seq, lag, after,
			c.UpdatedAt.Format("2006-01-02T15:04:05Z"), c.UpdatedBy)
	}
	return tw.Flush()
}

// runConsumer runs "consumer rm NAME".
func runConsumer(ctx context.Context, env Env, args []string) error {
	if len(args) != 2 || args[0] != "rm" {
		return usageError("bad consumer command: " + strings.Join(append([]string{"consumer"}, args...), " "))
	}
	name := args[1]
	if err := store.CheckConsumerName(name); err != nil {
		return err
	}
	stores := app.NewStores(env.Config, nil)
	defer stores.Close()
	cs, err := stores.Consumers(ctx)
	if err != nil {
		return err
	}
	err = cs.Delete(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no consumer %s (%s)", name, describeConfig(env.Config))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "removed consumer %s\n", name)
	return nil
}
