package admin

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"apie/app"
	"apie/config"
	"apie/event"
	"apie/internal/pgtest"
	"apie/internal/s3test"
	"apie/store"
)

// backendConfig is testConfig with the log in pg's schema and the blobs in
// s3's bucket "apie" (made here).
func backendConfig(t *testing.T, pg *pgtest.Server, s3 *s3test.Server, schema string) config.Config {
	t.Helper()
	if err := s3.MakeBucket(t.Context(), "apie"); err != nil && !strings.Contains(err.Error(), "already") {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	insecure := false
	cfg.EventLog.Postgres = &config.Postgres{DSN: pg.DSN(), Schema: schema}
	cfg.ContentStore.S3 = &config.S3{Endpoint: s3.Endpoint, Bucket: "apie", Secure: &insecure, Prefix: schema + "/",
		AccessKey: s3.AccessKey, SecretKey: s3.SecretKey}
	return cfg
}

// fill appends n events and puts one blob through the stores cfg selects.
func fill(t *testing.T, cfg config.Config, n int) {
	t.Helper()
	ctx := context.Background()
	stores := app.NewStores(cfg, nil)
	defer stores.Close()
	l, err := stores.Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d := event.Draft{EventID: event.NewUUID(), EventType: "t", Body: []byte(fmt.Sprint(i))}
		if _, err := l.Append(ctx, store.AppendRequest{Drafts: []event.Draft{d}}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := stores.Blobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Put(ctx, strings.NewReader("a blob"), store.BlobInfo{ContentType: "text/plain", Filename: "a.txt"}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyOnBackends: verify checks the log in PostgreSQL and the blobs
// in S3 when apie.json selects them, reports damage there, and does not
// make an empty log in a schema that holds none.
func TestVerifyOnBackends(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	missing := backendConfig(t, pg, s3, pg.NewSchema())
	code, out, _ := run(t, missing, "", "verify")
	if code != 1 || !strings.Contains(out, "events: cannot verify") || !strings.Contains(out, "holds no apie tables") {
		t.Fatalf("verify of a schema without tables: exit %d, %q", code, out)
	}
	code, out, _ = run(t, missing, "", "verify")
	if code != 1 || !strings.Contains(out, "holds no apie tables") {
		t.Fatalf("verify made the tables it checked for: exit %d, %q", code, out)
	}

	schema := pg.NewSchema()
	cfg := backendConfig(t, pg, s3, schema)
	fill(t, cfg, 5)
	code, out, _ = run(t, cfg, "", "verify")
	if code != 0 || !strings.Contains(out, "events: ok, 5 events") || !strings.Contains(out, "blobs: ok, 1 blobs, 6 bytes") {
		t.Fatalf("verify: exit %d, %q; want 5 events and 1 blob, ok", code, out)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DELETE FROM "+pgx.Identifier{schema, "events"}.Sanitize()+" WHERE seq = 3"); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, cfg, "", "verify")
	if code != 1 || !strings.Contains(out, "events: DAMAGED") || !strings.Contains(out, "seq 3") {
		t.Fatalf("verify of a log without seq 3: exit %d, %q; want DAMAGED at seq 3", code, out)
	}
}
