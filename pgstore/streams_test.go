package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"apie/event"
	"apie/internal/pgtest"
	"apie/store"
	"apie/sum"
)

func streamDraft(stream string, expected int, body string) event.Draft {
	d := event.Draft{EventID: event.NewUUID(), EventType: "t", Body: []byte(body), Stream: stream}
	if expected >= 0 {
		d.HasExpected, d.ExpectedVersion = true, uint64(expected)
	}
	return d
}

// TestMigrateFromVersion1: tables made by the apie before streams (schema
// version 1, its events in them) are migrated on Open: the events stay,
// Verify passes, and streams, erasure and consumers work on them.
func TestMigrateFromVersion1(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	q := func(table string) string { return pgx.Identifier{schema, table}.Sanitize() }
	exec(t, pg.DSN(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	exec(t, pg.DSN(), "CREATE TABLE "+q("meta")+" (version int NOT NULL)")
	exec(t, pg.DSN(), "INSERT INTO "+q("meta")+" VALUES (1)")
	exec(t, pg.DSN(), "CREATE TABLE "+q("events")+` (seq bigint PRIMARY KEY CHECK (seq > 0),
		hash bytea NOT NULL UNIQUE, event_id text NOT NULL UNIQUE, record bytea NOT NULL)`)
	exec(t, pg.DSN(), "CREATE TABLE "+q("head")+` (one boolean PRIMARY KEY DEFAULT true CHECK (one),
		seq bigint NOT NULL, hash bytea NOT NULL)`)
	prev := sum.Genesis
	var old []event.Event
	for i := range 3 {
		d := event.Draft{EventID: event.NewUUID(), EventType: "t", Body: []byte(fmt.Sprint(i)), BodySalt: event.NewSalt()}
		ev := event.Seal(d, uint64(i+1), "alice", time.Unix(1700000000, 0), prev)
		exec(t, pg.DSN(), "INSERT INTO "+q("events")+" VALUES ($1, $2, $3, $4)", int64(ev.Seq), ev.Hash[:], ev.EventID, ev.Record())
		prev = ev.Hash
		old = append(old, ev)
	}
	exec(t, pg.DSN(), "INSERT INTO "+q("head")+" (seq, hash) VALUES (3, $1)", prev[:])

	l := open(t, pg.DSN(), schema)
	ctx := context.Background()
	if rep, err := l.Verify(ctx, false); err != nil || rep.Events != 3 || rep.Head != prev {
		t.Fatalf("Verify after the migration: %+v, %v", rep, err)
	}
	res, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{streamDraft("/orders/1", 0, "1")}})
	if err != nil || res.Events[0].Seq != 4 || res.Events[0].StreamSeq != 1 {
		t.Fatalf("stream append after the migration: %+v, %v", res, err)
	}
	if info, err := l.StreamHead(ctx, "/orders/1"); err != nil || info.Version != 1 || info.LastSeq != 4 {
		t.Fatalf("StreamHead: %+v, %v", info, err)
	}
	if _, err := l.Erase(ctx, old[1].Hash, "test", "alice"); err != nil {
		t.Fatalf("erase an event of version 1: %v", err)
	}
	if _, _, err := l.ConsumerStore().Move(ctx, store.ConsumerMove{Name: "c", After: prev, Seq: 3}); err != nil {
		t.Fatalf("consumer after the migration: %v", err)
	}
	var version int
	conn, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT version FROM "+q("meta")).Scan(&version); err != nil || version != 2 {
		t.Fatalf("schema version %d, %v; want 2", version, err)
	}
	// Opened again, the migrated tables are used as they are.
	again := open(t, pg.DSN(), schema)
	if rep, err := again.Verify(ctx, false); err != nil || rep.Events != 5 || rep.Erased != 1 {
		t.Fatalf("Verify after reopening: %+v, %v", rep, err)
	}
}

// TestStreamPrefixIsLiteral: '_' in a stream name is a LIKE wildcard in
// SQL; a recursive read and a listing of /a_b must not take /a-b's
// streams.
func TestStreamPrefixIsLiteral(t *testing.T) {
	pg := pgtest.Start(t)
	l := open(t, pg.DSN(), pg.NewSchema())
	ctx := context.Background()
	res, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{
		streamDraft("/a-b/1", -1, "1"), streamDraft("/a_b/1", -1, "2"), streamDraft("/a_b", -1, "3"), streamDraft("/a_bc", -1, "4"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	seqs, err := l.StreamSeqs(ctx, store.StreamQuery{Stream: "/a_b", Recursive: true})
	if want := []uint64{res.Events[1].Seq, res.Events[2].Seq}; err != nil || !slices.Equal(seqs, want) {
		t.Fatalf("StreamSeqs(/a_b, recursive) = %v, %v; want %v", seqs, err, want)
	}
	list, err := l.ListStreams(ctx, "/a_b", "", 0)
	var names []string
	for _, s := range list {
		names = append(names, s.Stream)
	}
	if want := []string{"/a_b", "/a_b/1"}; err != nil || !slices.Equal(names, want) {
		t.Fatalf("ListStreams(/a_b) = %v, %v; want %v", names, err, want)
	}
}

// TestStreamVersionAcrossProcesses: logs opened separately on the same
// tables (separate apie-serve processes) append to one stream at once,
// each with the expectedVersion it last read; every version is won by
// exactly one append, the others are refused with the version as it is,
// and the stream ends numbered 1..n without a gap.
func TestStreamVersionAcrossProcesses(t *testing.T) {
	pg := pgtest.Start(t)
	schema := pg.NewSchema()
	logs := []store.EventLog{open(t, pg.DSN(), schema), open(t, pg.DSN(), schema), open(t, pg.DSN(), schema)}
	ctx := context.Background()
	const target = 30
	var mu sync.Mutex
	won := map[uint64]int{}
	var wg sync.WaitGroup
	for _, l := range logs {
		for range 2 {
			wg.Go(func() {
				for {
					info, err := l.(store.Streams).StreamHead(ctx, "/race")
					if err != nil {
						t.Error(err)
						return
					}
					if info.Version >= target {
						return
					}
					res, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{streamDraft("/race", int(info.Version), "1")}})
					var ve *store.StreamVersionError
					switch {
					case errors.As(err, &ve):
						if ve.Current <= info.Version {
							t.Errorf("refused at version %d, read %d before", ve.Current, info.Version)
						}
					case err != nil:
						t.Error(err)
						return
					default:
						mu.Lock()
						won[res.Events[0].StreamSeq]++
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	for v := uint64(1); v <= target; v++ {
		if won[v] != 1 {
			t.Errorf("version %d won by %d appends, want 1", v, won[v])
		}
	}
	seqs, err := logs[0].(store.Streams).StreamSeqs(ctx, store.StreamQuery{Stream: "/race"})
	if err != nil || len(seqs) != target {
		t.Fatalf("StreamSeqs: %d seqs, %v; want %d", len(seqs), err, target)
	}
	for i, seq := range seqs {
		rec, err := logs[0].Record(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := event.DecodeRecord(rec)
		if err != nil || ev.StreamSeq != uint64(i+1) {
			t.Fatalf("event %d of the stream has streamSeq %d, %v", i+1, ev.StreamSeq, err)
		}
	}
}
