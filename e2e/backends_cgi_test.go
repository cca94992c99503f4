package e2e

import (
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"

	"apie/internal/pgtest"
	"apie/internal/s3test"
)

// TestContractCGIOnBackends runs the contract table (less streams and
// erasure) against apie-cgi
// under Apache (event MPM, mod_cgid) with the event log in a private
// PostgreSQL and the blobs in a private MinIO. Apache passes a CGI program
// no environment of its own, so the S3 keys sit in apie.json (0600, the
// site owner's) here. Each request is a new process: it connects, checks
// the schema and answers, with no state kept between requests.
func TestContractCGIOnBackends(t *testing.T) {
	requireApache(t)
	pg, s3 := pgtest.Start(t), s3test.Start(t)
	makeBucket(t, s3)
	b, o, docRoot := binaries(t), webOwner(t), tempDir(t)
	schema := pg.NewSchema()
	var cfg map[string]any
	if err := json.Unmarshal([]byte(backendConfig(pg, s3, schema, "cgi/")), &cfg); err != nil {
		t.Fatal(err)
	}
	keys := cfg["contentstore"].(map[string]any)["s3"].(map[string]any)
	delete(keys, "accessKeyEnv")
	delete(keys, "secretKeyEnv")
	keys["accessKey"], keys["secretKey"] = s3.AccessKey, s3.SecretKey
	text, _ := json.Marshal(cfg)
	s := installSite(t, b, o, docRoot, "apie", string(text), true)
	a := startApache(t, apacheModes[1], o, docRoot)
	runBackendContract(t, newTarget("apie-cgi on postgres+s3", a.URL(), s.urlPath, testUser, testPassword, true))
	conn, err := pgx.Connect(t.Context(), pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+pgx.Identifier{schema, "events"}.Sanitize()).Scan(&n); err != nil || n == 0 {
		t.Fatalf("events in PostgreSQL after the table: %d, %v; want the table's events there", n, err)
	}
}
