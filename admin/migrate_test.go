package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"apie/app"
	"apie/config"
	"apie/event"
	"apie/internal/pgtest"
	"apie/internal/s3test"
	"apie/store"
)

// writeJSON writes v as dir/apie.json and returns the config it loads to
// and its path.
func writeJSONConfig(t *testing.T, dir string, v any) (config.Config, string) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "apie.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p
}

func headOf(t *testing.T, cfg config.Config) store.Head {
	t.Helper()
	s := app.NewStores(cfg, nil)
	defer s.Close()
	l, err := s.Log(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h, err := l.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestMigrateRoundTrip copies a file store (single events, a batch, two
// blobs) into PostgreSQL and S3, and that back into files: each copy has
// the source's head hash, the final log file is byte for byte the first,
// verify passes on each, and a destination that holds anything is refused.
func TestMigrateRoundTrip(t *testing.T) {
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	if err := s3.MakeBucket(t.Context(), "apie"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	files, _ := writeJSONConfig(t, t.TempDir(), map[string]any{})
	fill(t, files, 5)
	func() { // a batch: three events with one createdAt, and a second blob
		s := app.NewStores(files, nil)
		defer s.Close()
		l, _ := s.Log(ctx)
		var ds []event.Draft
		for _, b := range []string{`{"a":1}`, `[2]`, `"three"`} {
			ds = append(ds, event.Draft{EventID: event.NewUUID(), EventType: "batch", Body: []byte(b), ClientID: true})
		}
		if _, err := l.Append(ctx, store.AppendRequest{Drafts: ds, CreatedBy: "bob@example.org"}); err != nil {
			t.Fatal(err)
		}
		b, _ := s.Blobs(ctx)
		if _, _, err := b.Put(ctx, strings.NewReader("second"), store.BlobInfo{ContentType: "application/pdf", Filename: "b.pdf"}, nil); err != nil {
			t.Fatal(err)
		}
	}()
	want := headOf(t, files)

	schema := pg.NewSchema()
	remote, remotePath := writeJSONConfig(t, t.TempDir(), map[string]any{
		"eventlog": map[string]any{"postgres": map[string]any{"dsn": pg.DSN(), "schema": schema}},
		"contentstore": map[string]any{"s3": map[string]any{"endpoint": s3.Endpoint, "bucket": "apie", "secure": false,
			"prefix": schema + "/", "accessKey": s3.AccessKey, "secretKey": s3.SecretKey}},
	})
	code, out, errOut := run(t, files, "", "migrate", "--to", remotePath)
	if code != 0 || !strings.Contains(out, "migrated 8 events (head "+want.Hash.String()) || !strings.Contains(out, "2 blobs (12 bytes)") {
		t.Fatalf("migrate files → postgres+s3: exit %d, %q %q", code, out, errOut)
	}
	if got := headOf(t, remote); got != want {
		t.Fatalf("head in PostgreSQL: %+v, want %+v", got, want)
	}
	if code, out, _ := run(t, remote, "", "verify"); code != 0 || !strings.Contains(out, "events: ok, 8 events") || !strings.Contains(out, "blobs: ok, 2 blobs") {
		t.Fatalf("verify on postgres+s3: exit %d, %q", code, out)
	}
	if code, _, errOut := run(t, files, "", "migrate", "--to", remotePath); code != 1 || !strings.Contains(errOut, "holds 8 events; migrate copies only into empty stores") {
		t.Fatalf("migrate into a non-empty log: exit %d, %q; want a refusal", code, errOut)
	}

	back, backPath := writeJSONConfig(t, t.TempDir(), map[string]any{})
	code, out, errOut = run(t, remote, "", "migrate", "--to", backPath)
	if code != 0 || !strings.Contains(out, "migrated 8 events (head "+want.Hash.String()) {
		t.Fatalf("migrate postgres+s3 → files: exit %d, %q %q", code, out, errOut)
	}
	a, err := os.ReadFile(filepath.Join(files.EventLog.Path, "log"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(back.EventLog.Path, "log"))
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("the log copied there and back differs from the first (%v)", err)
	}
	if code, out, _ := run(t, back, "", "verify"); code != 0 || !strings.Contains(out, "blobs: ok, 2 blobs, 12 bytes") {
		t.Fatalf("verify after the round trip: exit %d, %q", code, out)
	}
	// A log made on PostgreSQL (its events salted there) moves to files
	// with its head.
	pgOnly := backendConfig(t, pg, s3, pg.NewSchema())
	fill(t, pgOnly, 4)
	pgOnly.ContentStore = files.ContentStore // blobs from the first store's files: only the log matters here
	fromPG, fromPGPath := writeJSONConfig(t, t.TempDir(), map[string]any{})
	if code, out, errOut := run(t, pgOnly, "", "migrate", "--to", fromPGPath); code != 0 || !strings.Contains(out, "migrated 4 events (head "+headOf(t, pgOnly).Hash.String()) {
		t.Fatalf("migrate a log made on postgres → files: exit %d, %q %q", code, out, errOut)
	}
	if got, want := headOf(t, fromPG), headOf(t, pgOnly); got != want {
		t.Fatalf("head after postgres → files: %+v, want %+v", got, want)
	}
	// Blobs alone make a destination non-empty too.
	onlyBlobs, onlyBlobsPath := writeJSONConfig(t, t.TempDir(), map[string]any{})
	func() {
		s := app.NewStores(onlyBlobs, nil)
		defer s.Close()
		bs, _ := s.Blobs(ctx)
		if _, _, err := bs.Put(ctx, strings.NewReader("x"), store.BlobInfo{}, nil); err != nil {
			t.Fatal(err)
		}
	}()
	if code, _, errOut := run(t, remote, "", "migrate", "--to", onlyBlobsPath); code != 1 || !strings.Contains(errOut, "blob store holds blobs") {
		t.Fatalf("migrate into a blob store with blobs: exit %d, %q; want a refusal", code, errOut)
	}
}
