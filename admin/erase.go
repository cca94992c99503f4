package admin

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strings"

	"apie/app"
	"apie/store"
	"apie/sum"
)

// runErase erases the body of one event offline: `erase HASH --reason
// TEXT [--by NAME]`. It takes the same writer lock as every appender
// (the event log's Erase), so it is safe while apie-serve or apie-cgi
// run. The apie.erased event is created by NAME (default
// "unix:<login>", the account that ran the command) and printed.
func runErase(ctx context.Context, env Env, args []string) error {
	hash, reason, by, err := parseEraseArgs(args)
	if err != nil {
		return err
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
	res, err := log.Erase(ctx, hash, reason, by)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no event %s in %s", hash, env.Config.EventLog.Path)
	case err != nil:
		return err
	}
	fmt.Fprintf(env.Stdout, "erased the body of %s; recorded by:\n%s\n", hash, res.Records[0])
	return nil
}

// parseEraseArgs reads HASH --reason TEXT [--by NAME] (also
// --reason=TEXT), in any order.
func parseEraseArgs(args []string) (h sum.Hash, reason, by string, err error) {
	var hashArg string
	var haveReason bool
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "--reason", "-reason", "--by", "-by":
			if !hasVal {
				if i+1 >= len(args) {
					return h, "", "", usageError(name + " needs a value")
				}
				i++
				val = args[i]
			}
			if strings.HasSuffix(name, "reason") {
				reason, haveReason = val, true
			} else {
				by = val
			}
		default:
			if hashArg != "" || strings.HasPrefix(a, "-") {
				return h, "", "", usageError("erase: unexpected argument " + a)
			}
			hashArg = a
		}
	}
	if hashArg == "" || !haveReason || strings.TrimSpace(reason) == "" {
		return h, "", "", usageError("erase needs an event hash and --reason TEXT")
	}
	h, err = sum.Parse(hashArg)
	if err != nil {
		return h, "", "", usageError("erase: " + hashArg + " is not an event hash (64 lower-case hex digits)")
	}
	if by == "" {
		by = "unix:unknown"
		if u, err := user.Current(); err == nil {
			by = "unix:" + u.Username
		}
	}
	return h, reason, by, nil
}
