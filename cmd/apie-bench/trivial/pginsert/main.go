// Command pginsert is the floor for apie-serve on PostgreSQL: a net/http
// server whose handler reads the request body and INSERTs it as one row,
// in a transaction of its own (autocommit), answering once PostgreSQL has
// committed it. No hash chain, no head lock, no validation.
//
//	pginsert -addr 127.0.0.1:0 -dsn 'host=/run/postgresql dbname=x'
//
// It prints the address it listens on as its first line of output and
// serves until killed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	dsn := flag.String("dsn", "", "PostgreSQL connection string")
	flag.Parse()
	if err := serve(*addr, *dsn); err != nil {
		fmt.Fprintln(os.Stderr, "pginsert:", err)
		os.Exit(1)
	}
}

func serve(addr, dsn string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS pginsert (id bigserial PRIMARY KEY, body bytea NOT NULL)"); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil && r.Method == http.MethodPost {
			_, err = pool.Exec(r.Context(), "INSERT INTO pginsert (body) VALUES ($1)", body)
		}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"status":"error"}`+"\n")
			return
		}
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	return http.Serve(ln, h)
}
