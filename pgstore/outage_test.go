package pgstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"apie/event"
	"apie/internal/pgtest"
	"apie/pgstore"
	"apie/store"
)

func draft(id, body string) event.Draft {
	return event.Draft{EventID: id, EventType: "t", Body: []byte(body), ClientID: true}
}

// TestRestartIsUnavailable: while PostgreSQL is down, appends and reads
// fail with store.ErrUnavailable (the HTTP layer's 503), and once it is
// back the same EventLog serves again, with every acknowledged event kept:
// no reopen is needed.
func TestRestartIsUnavailable(t *testing.T) {
	pg := pgtest.Start(t)
	l := open(t, pg.DSN(), pg.NewSchema())
	ctx := context.Background()
	appendN(t, l, 3)
	pg.Stop(t)
	if _, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{draft(event.NewUUID(), "1")}}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Append while PostgreSQL is down: got %v, want ErrUnavailable", err)
	}
	if _, err := l.Head(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Head while PostgreSQL is down: got %v, want ErrUnavailable", err)
	}
	if _, err := l.Record(ctx, 1); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Record while PostgreSQL is down: got %v, want ErrUnavailable", err)
	}
	pg.Resume(t)
	// The pool's connections died with the server; it makes new ones.
	d := draft(event.NewUUID(), "2")
	var res store.AppendResult
	var err error
	for range 10 {
		if res, err = l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}}); !errors.Is(err, store.ErrUnavailable) {
			break
		}
	}
	if err != nil || res.Events[0].Seq != 4 {
		t.Fatalf("Append after the restart: got %+v, %v; want seq 4", res.Events, err)
	}
	if rep, err := l.Verify(ctx, false); err != nil || rep.Events != 4 {
		t.Fatalf("Verify after the restart: got %+v, %v; want 4 events", rep, err)
	}
}

// TestCommitOutcomeUnknown: when the connection breaks after PostgreSQL
// committed an append but before its answer arrived, the append is not
// acknowledged (ErrUnavailable), and a retry with the same eventId returns
// the committed event without appending it twice.
func TestCommitOutcomeUnknown(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	px := startProxy(t, pg.DSN())
	l := open(t, px.dsn, schema)
	ctx := context.Background()
	appendN(t, l, 2)
	d := draft(event.NewUUID(), `{"once":true}`)
	px.dropCommitReply.Store(true)
	_, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}})
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "outcome is unknown") {
		t.Fatalf("Append whose COMMIT answer was lost: got %v, want ErrUnavailable saying the outcome is unknown", err)
	}
	if px.dropped.Load() != 1 {
		t.Fatalf("the proxy dropped %d COMMIT answers, want 1", px.dropped.Load())
	}
	direct := open(t, pg.DSN(), schema)
	if h, err := direct.Head(ctx); err != nil || h.Seq != 3 {
		t.Fatalf("Head seen directly: got %+v, %v; want seq 3 (the COMMIT went through)", h, err)
	}
	res, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}})
	if err != nil || res.Appended != 0 || res.Events[0].Seq != 3 {
		t.Fatalf("the retry: got %+v, %v; want the stored event at seq 3, nothing appended", res, err)
	}
	if rep, err := direct.Verify(ctx, false); err != nil || rep.Events != 3 {
		t.Fatalf("Verify: got %+v, %v; want 3 events", rep, err)
	}
}

// proxy forwards connections to PostgreSQL's unix socket. Armed
// (dropCommitReply), it lets the next COMMIT through, reads PostgreSQL's
// whole answer to it and, instead of passing it on, closes both ends: the
// client cannot know the COMMIT's outcome.
type proxy struct {
	dsn             string
	dropCommitReply atomic.Bool
	dropped         atomic.Int32
	// stall holds every answer of PostgreSQL back while it is set, as a
	// network partition does.
	stall atomic.Bool
}

func startProxy(t *testing.T, dsn string) *proxy {
	t.Helper()
	host := strings.TrimPrefix(strings.Fields(dsn)[0], "host=")
	dir, err := os.MkdirTemp("", "apie-px-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, ".s.PGSQL.5432"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{dsn: strings.Replace(dsn, "host="+host, "host="+dir, 1)}
	var wg sync.WaitGroup
	t.Cleanup(func() { p.stall.Store(false); ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", filepath.Join(host, ".s.PGSQL.5432"))
			if err != nil {
				c.Close()
				continue
			}
			wg.Go(func() { p.serve(c, s) })
		}
	})
	return p
}

func (p *proxy) serve(c, s net.Conn) {
	defer c.Close()
	defer s.Close()
	var drop atomic.Bool // this connection sent the COMMIT whose answer is dropped
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if bytes.Contains(bytes.ToLower(buf[:n]), []byte("commit")) && p.dropCommitReply.CompareAndSwap(true, false) {
					drop.Store(true)
				}
				if _, err := s.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				s.Close()
				return
			}
		}
	}()
	// PostgreSQL's messages: a type byte, then a length that counts itself.
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(s, hdr[:]); err != nil {
			return
		}
		body := make([]byte, int(binary.BigEndian.Uint32(hdr[1:]))-4)
		if _, err := io.ReadFull(s, body); err != nil {
			return
		}
		for p.stall.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if drop.Load() {
			if hdr[0] == 'Z' { // ReadyForQuery: the COMMIT is done
				p.dropped.Add(1)
				return
			}
			continue
		}
		if _, err := c.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

// TestStalledServerIsUnavailable: appends waiting on a PostgreSQL that
// stopped answering (a partition) fail with store.ErrUnavailable once the
// transaction's time is up, instead of hanging; once it answers again the
// same EventLog appends.
func TestStalledServerIsUnavailable(t *testing.T) {
	pg := pgtest.Start(t)
	px := startProxy(t, pg.DSN())
	l, err := pgstore.Open(context.Background(), pgstore.Options{DSN: px.dsn, Schema: pg.NewSchema(), TxTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx := context.Background()
	appendN(t, l, 2)
	px.stall.Store(true)
	bounded, cancel := context.WithTimeout(ctx, 30*time.Second) // fails the test, not hangs it, without TxTimeout
	defer cancel()
	if _, err := l.Append(bounded, store.AppendRequest{Drafts: []event.Draft{draft(event.NewUUID(), "1")}}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Append on a stalled server: got %v, want ErrUnavailable", err)
	}
	px.stall.Store(false)
	var res store.AppendResult
	for range 10 { // connections broken by the timeout are replaced
		if res, err = l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{draft(event.NewUUID(), "2")}}); !errors.Is(err, store.ErrUnavailable) {
			break
		}
	}
	if err != nil || res.Events[0].Seq < 3 {
		t.Fatalf("Append after the stall: %+v, %v", res.Events, err)
	}
}
