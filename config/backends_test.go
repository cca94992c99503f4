package config

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBackends(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string // "" = valid
	}{
		{"postgres dsn", `{"eventlog":{"postgres":{"dsn":"postgres://apie:pw@db/apie"}}}`, ""},
		{"postgres dsnEnv", `{"eventlog":{"postgres":{"dsnEnv":"APIE_DSN","schema":"prod"}}}`, ""},
		{"postgres neither", `{"eventlog":{"postgres":{}}}`, "eventlog.postgres: give dsn or dsnEnv"},
		{"postgres both", `{"eventlog":{"postgres":{"dsn":"x","dsnEnv":"Y"}}}`, "not both"},
		{"postgres unknown key", `{"eventlog":{"postgres":{"url":"x"}}}`, "unknown field"},
		{"s3", `{"contentstore":{"s3":{"endpoint":"s3.example.com","bucket":"b","accessKey":"a","secretKey":"s"}}}`, ""},
		{"s3 keys from env", `{"contentstore":{"s3":{"endpoint":"e:9000","bucket":"b","secure":false}}}`, ""},
		{"s3 no endpoint", `{"contentstore":{"s3":{"bucket":"b"}}}`, "contentstore.s3.endpoint: must not be empty"},
		{"s3 no bucket", `{"contentstore":{"s3":{"endpoint":"e"}}}`, "contentstore.s3.bucket: must not be empty"},
		{"s3 half the keys", `{"contentstore":{"s3":{"endpoint":"e","bucket":"b","accessKey":"a"}}}`, "both accessKey and secretKey"},
		{"s3 keys and env", `{"contentstore":{"s3":{"endpoint":"e","bucket":"b","accessKey":"a","secretKey":"s","secretKeyEnv":"S"}}}`, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json), "/srv")
			if tt.wantErr == "" && err != nil {
				t.Fatalf("got %v, want valid", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// TestBackendSecrets: the DSN and the keys come from the environment when
// apie.json names the variables, and GET /info's view never shows them.
func TestBackendSecrets(t *testing.T) {
	t.Setenv("APIE_TEST_DSN", "postgres://apie:dsn-secret@db/apie")
	t.Setenv("AWS_ACCESS_KEY_ID", "access-secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "key-secret")
	c, err := Parse([]byte(`{"eventlog":{"postgres":{"dsnEnv":"APIE_TEST_DSN"}},
		"contentstore":{"s3":{"endpoint":"e:9000","bucket":"b","secure":false}}}`), "/srv")
	if err != nil {
		t.Fatal(err)
	}
	if dsn, err := c.EventLog.Postgres.ConnString(); err != nil || dsn != "postgres://apie:dsn-secret@db/apie" {
		t.Fatalf("ConnString: got %q, %v", dsn, err)
	}
	if a, s, err := c.ContentStore.S3.Keys(); err != nil || a != "access-secret" || s != "key-secret" {
		t.Fatalf("Keys: got %q %q, %v", a, s, err)
	}
	if c.ContentStore.S3.IsSecure() {
		t.Fatal("secure: false gave HTTPS")
	}
	inline, err := Parse([]byte(`{"eventlog":{"postgres":{"dsn":"postgres://apie:dsn-secret@db/apie"}},
		"contentstore":{"s3":{"endpoint":"e","bucket":"b","accessKey":"access-secret","secretKey":"key-secret"}}}`), "/srv")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := json.Marshal(inline.Public())
	for _, secret := range []string{"dsn-secret", "access-secret", "key-secret"} {
		if strings.Contains(string(pub), secret) {
			t.Fatalf("Public shows %s: %s", secret, pub)
		}
	}
	if !strings.Contains(string(pub), `"backend":"postgres"`) || !strings.Contains(string(pub), `"bucket":"b"`) {
		t.Fatalf("Public does not say which backends: %s", pub)
	}
	t.Setenv("APIE_TEST_DSN", "")
	if _, err := c.EventLog.Postgres.ConnString(); err == nil {
		t.Fatal("ConnString with the variable unset: got nil error")
	}
}

// TestConsumersFollowTheLog: consumers live in the event log's PostgreSQL
// schema when the log does, unless consumers.path places them in files;
// with the log in files they stay in files.
func TestConsumersFollowTheLog(t *testing.T) {
	tests := []struct {
		name, json string
		inLog      bool
		path       string
	}{
		{"files", `{}`, false, "/srv/apie-data/events/consumers"},
		{"postgres", `{"eventlog":{"postgres":{"dsn":"postgres://db/apie"}}}`, true, "/srv/apie-data/events/consumers"},
		{"postgres, consumers placed in files", `{"eventlog":{"postgres":{"dsn":"postgres://db/apie"}},"consumers":{"path":"cons"}}`, false, "/srv/cons"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.json), "/srv")
			if err != nil {
				t.Fatal(err)
			}
			if c.Consumers.InEventLog != tt.inLog || c.Consumers.Path != tt.path {
				t.Fatalf("consumers in the log %v at %q; want %v at %q", c.Consumers.InEventLog, c.Consumers.Path, tt.inLog, tt.path)
			}
			_, public := c.Public()["consumers"].(map[string]any)["postgres"]
			if public != tt.inLog {
				t.Fatalf("GET /info's consumers: %v", c.Public()["consumers"])
			}
		})
	}
}
