package config

import (
	"errors"
	"fmt"
	"os"
)

// Postgres is eventlog.postgres: the event log in PostgreSQL. The
// connection string is DSN, or the value of the environment variable
// DSNEnv names (so no password need sit in apie.json); exactly one is
// given.
type Postgres struct {
	DSN    string `json:"dsn"`
	DSNEnv string `json:"dsnEnv"`
	Schema string `json:"schema"` // the schema holding apie's tables; "" = "apie"
}

// S3 is contentstore.s3: the blobs in an S3-compatible bucket. The keys
// are AccessKey and SecretKey, or the values of the environment variables
// AccessKeyEnv and SecretKeyEnv name (default AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY).
type S3 struct {
	Endpoint     string `json:"endpoint"` // host[:port]
	Bucket       string `json:"bucket"`
	Region       string `json:"region"`
	Secure       *bool  `json:"secure"` // HTTPS; default true
	Prefix       string `json:"prefix"` // prepended to every object name
	AccessKey    string `json:"accessKey"`
	SecretKey    string `json:"secretKey"`
	AccessKeyEnv string `json:"accessKeyEnv"`
	SecretKeyEnv string `json:"secretKeyEnv"`
}

func (p *Postgres) check(key string) error {
	switch {
	case p.DSN == "" && p.DSNEnv == "":
		return fmt.Errorf("%s: give dsn or dsnEnv", key)
	case p.DSN != "" && p.DSNEnv != "":
		return fmt.Errorf("%s: give dsn or dsnEnv, not both", key)
	}
	return nil
}

// ConnString returns the connection string, read from the environment
// when DSNEnv names it.
func (p *Postgres) ConnString() (string, error) {
	if p.DSNEnv == "" {
		return p.DSN, nil
	}
	dsn := os.Getenv(p.DSNEnv)
	if dsn == "" {
		return "", fmt.Errorf("eventlog.postgres.dsnEnv: the environment variable %s is not set", p.DSNEnv)
	}
	return dsn, nil
}

func (s *S3) check(key string) error {
	var errs []error
	if s.Endpoint == "" {
		errs = append(errs, fmt.Errorf("%s.endpoint: must not be empty", key))
	}
	if s.Bucket == "" {
		errs = append(errs, fmt.Errorf("%s.bucket: must not be empty", key))
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		errs = append(errs, fmt.Errorf("%s: give both accessKey and secretKey, or neither", key))
	}
	if s.AccessKey != "" && (s.AccessKeyEnv != "" || s.SecretKeyEnv != "") {
		errs = append(errs, fmt.Errorf("%s: give the keys or the environment variables that hold them, not both", key))
	}
	return errors.Join(errs...)
}

// IsSecure reports whether the endpoint is spoken to over HTTPS.
func (s *S3) IsSecure() bool { return s.Secure == nil || *s.Secure }

// Keys returns the access and secret keys, read from the environment
// unless apie.json gives them.
func (s *S3) Keys() (access, secret string, err error) {
	if s.AccessKey != "" {
		return s.AccessKey, s.SecretKey, nil
	}
	ae, se := s.AccessKeyEnv, s.SecretKeyEnv
	if ae == "" {
		ae = "AWS_ACCESS_KEY_ID"
	}
	if se == "" {
		se = "AWS_SECRET_ACCESS_KEY"
	}
	access, secret = os.Getenv(ae), os.Getenv(se)
	if access == "" || secret == "" {
		return "", "", fmt.Errorf("contentstore.s3: the keys are not in apie.json and the environment variables %s and %s are not both set", ae, se)
	}
	return access, secret, nil
}

// publicEventLog is eventlog as GET /info shows it: never the DSN, which
// may hold a password.
func (c Config) publicEventLog() map[string]any {
	if p := c.EventLog.Postgres; p != nil {
		schema := p.Schema
		if schema == "" {
			schema = "apie"
		}
		return map[string]any{"backend": "postgres", "schema": schema}
	}
	return map[string]any{
		"path": c.EventLog.Path, "fileMode": FormatMode(c.EventLog.FileMode),
		"dirMode": FormatMode(c.EventLog.DirMode),
	}
}

// publicContentStore is contentstore as GET /info shows it: never the keys.
func (c Config) publicContentStore() map[string]any {
	if s := c.ContentStore.S3; s != nil {
		return map[string]any{
			"backend": "s3", "endpoint": s.Endpoint, "bucket": s.Bucket, "region": s.Region,
			"secure": s.IsSecure(), "prefix": s.Prefix, "url": c.ContentStore.URL,
		}
	}
	return map[string]any{
		"path": c.ContentStore.Path, "url": c.ContentStore.URL,
		"fileMode": FormatMode(c.ContentStore.FileMode),
		"dirMode":  FormatMode(c.ContentStore.DirMode),
	}
}
