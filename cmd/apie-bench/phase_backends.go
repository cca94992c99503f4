package main

// The backends: durable appends/s through apie-serve with its event log in
// PostgreSQL, one node and three nodes sharing it, beside apie-serve on
// files (one process, and three on one directory) and a trivial net/http
// server doing one INSERT per request on the same PostgreSQL, all under
// the same clients, measured in turn in one run. PostgreSQL is Debian's
// (internal/pgtest finds it), started here privately: initdb and postgres
// on a unix socket in a temporary directory, fsync and synchronous_commit
// on (the defaults), so every acknowledged append is durable. Where
// PostgreSQL is not installed the rows are skipped, saying so.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"apie/internal/pgtest"
)

// backendsRow names the rows' common part.
const backendsRow = "durable appends/s"

// backends runs the rows.
func (b *bench) backends(ctx context.Context) error {
	pgBin, err := pgtest.BinDir()
	if err != nil {
		b.rep.skip(backendsRow+" on PostgreSQL", "measured", err.Error())
		return nil
	}
	pg, dsn, err := b.startPostgres(ctx, pgBin)
	if err != nil {
		return err
	}
	defer pg.stop()
	insert := filepath.Join(b.work, "bin", "pginsert")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", insert, "./cmd/apie-bench/trivial/pginsert")
	cmd.Dir = b.repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build pginsert: %w\n%s", err, out)
	}

	files, err := newInstance(filepath.Join(b.work, "backends-files"), b.passwd)
	if err != nil {
		return err
	}
	onPG, err := newInstance(filepath.Join(b.work, "backends-pg"), b.passwd)
	if err != nil {
		return err
	}
	if err := usePostgres(onPG, dsn); err != nil {
		return err
	}
	clients := b.sz.clients
	rates := map[string]float64{}
	for i, run := range []struct {
		name  string
		in    *instance
		nodes int
	}{
		{"files, 1 node", files, 1},
		{"files, 3 nodes on one directory", files, 3},
		{"PostgreSQL, 1 node", onPG, 1},
		{"PostgreSQL, 3 nodes", onPG, 3},
	} {
		rate, err := b.serveRate(ctx, run.in, run.nodes, clients, (7+i)<<30)
		if err != nil {
			return fmt.Errorf("%s: %w", run.name, err)
		}
		rates[run.name] = rate
	}
	p, err := startPGInsert(ctx, insert, dsn, b.logPath("pginsert.log"))
	if err != nil {
		return err
	}
	defer p.stop()
	c, err := newClient(p.url, user4.login(), true, 2*clients)
	if err != nil {
		return err
	}
	defer c.close()
	n, d, err := concurrentAppends(ctx, c, clients, b.sz.perClient, b.sz.budget, 11<<30)
	if err != nil {
		return fmt.Errorf("pginsert: %w", err)
	}
	floor := float64(n) / d.Seconds()
	for _, name := range []string{"files, 1 node", "files, 3 nodes on one directory", "PostgreSQL, 1 node", "PostgreSQL, 3 nodes"} {
		b.rep.add(fmt.Sprintf("%s, %d clients, apie-serve on %s", backendsRow, clients, name),
			fmt.Sprintf("%.0f/s", rates[name]), fmt.Sprintf("one INSERT per request on the same PostgreSQL: %.0f/s", floor),
			fmtRatio(rates[name]/floor)) // above 1×: more appends/s than the floor
	}
	return nil
}

// serveRate starts nodes apie-serve processes on in, spreads clients over
// them and returns the appends/s they acknowledged.
func (b *bench) serveRate(ctx context.Context, in *instance, nodes, clients, base int) (float64, error) {
	var cs []*client
	for i := range nodes {
		p, err := startServe(ctx, b.bin.serve, in, b.logPath(fmt.Sprintf("backends-%s-%d.log", filepath.Base(in.dir), i)))
		if err != nil {
			return 0, err
		}
		defer p.stop()
		c, err := newClient(p.url, user4.login(), true, 2*clients)
		if err != nil {
			return 0, err
		}
		defer c.close()
		cs = append(cs, c)
	}
	n, d, err := concurrently(clients, b.sz.perClient, b.sz.budget, func(k, i int) error {
		_, err := cs[k%nodes].call(ctx, http.MethodPost, "/events", appendEvent(base+k*1_000_000+i), false, []int{http.StatusCreated})
		return err
	})
	if err != nil {
		return 0, err
	}
	return float64(n) / d.Seconds(), nil
}

// usePostgres rewrites in's apie.json to keep the event log in PostgreSQL.
func usePostgres(in *instance, dsn string) error {
	raw, err := os.ReadFile(in.config)
	if err != nil {
		return err
	}
	var conf map[string]any
	if err := json.Unmarshal(raw, &conf); err != nil {
		return err
	}
	conf["eventlog"] = map[string]any{"postgres": map[string]any{"dsn": dsn, "schema": "apie_bench"}}
	raw, err = json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(in.config, raw, 0o644)
}

// startPostgres makes a cluster with initdb and starts postgres on a unix
// socket only, as pgtest does for the tests, and returns it and its DSN.
func (b *bench) startPostgres(ctx context.Context, bin string) (*proc, string, error) {
	uid, gid, err := pgtest.ServerUser()
	if err != nil {
		return nil, "", err
	}
	// Not under the work directory: the server's user must reach it, and
	// the socket's path must stay short.
	dir, err := os.MkdirTemp("", "apie-bench-pg-")
	if err != nil {
		return nil, "", err
	}
	b.cleanup(func() { os.RemoveAll(dir) })
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "s")
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, "", err
	}
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, "", err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return nil, "", err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
	initdb.SysProcAttr, initdb.Dir = pgtest.AsUser(uid, gid), dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("initdb: %w\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", sock, "-c", "listen_addresses=",
		"-c", "max_connections=300", "-c", "unix_socket_permissions=0777")
	cmd.SysProcAttr, cmd.Dir = pgtest.AsUser(uid, gid), dir
	p, err := launch("postgres", cmd, b.logPath("postgres.log"), false)
	if err != nil {
		return nil, "", err
	}
	dsn := fmt.Sprintf("host=%s user=postgres dbname=postgres sslmode=disable", sock)
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			conn.Close(ctx)
			return p, dsn, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, "", fmt.Errorf("postgres: no answer within a minute: %w; see %s", err, p.log)
		}
		select {
		case <-p.done:
			return nil, "", fmt.Errorf("postgres exited at start (%v); see %s:\n%s", p.err, p.log, tail(p.log))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startPGInsert starts the trivial INSERT server; it prints its address
// first thing.
func startPGInsert(ctx context.Context, bin, dsn, logPath string) (*proc, error) {
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-dsn", dsn)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p, err := launch("pginsert", cmd, logPath, true)
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("pginsert: read its address: %w; see %s", err, logPath)
	}
	p.url = "http://" + strings.TrimSpace(line)
	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}
