// Package config reads apie.json once, validates every key in one place and
// hands plain values to the rest of apie. An unknown key or a bad value is an
// error naming it; relative paths resolve against the config file's
// directory (or, with no file, against the base directory the caller gives).
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"apie/auth"
	"apie/blobstore"
	"apie/event"
	"apie/eventlog"
)

// FileName is the config file's name where apie looks for it.
const FileName = "apie.json"

// ApiePasswdName is the users file Apie kept beside its apie.json (Apie
// reads "passwd" from its working directory, the config's directory). A
// config that names no passwd.path uses it when it exists.
const ApiePasswdName = "passwd"

// ConsumersDirName is the consumers' directory inside the event log's
// directory, where they are kept unless consumers.path says otherwise.
const ConsumersDirName = "consumers"

// ErrRead marks a config file that could not be read (missing, or kept
// from this process by its owner or mode); the cause is in the same chain.
var ErrRead = errors.New("read config")

// Config is the configuration in force, with every default filled in and
// every path absolute.
type Config struct {
	Source string `json:"source"` // the file read, or "" for the embedded defaults

	EventLog struct {
		Path     string      `json:"path"`
		FileMode fs.FileMode `json:"-"`
		DirMode  fs.FileMode `json:"-"`
		// Postgres, when set, keeps the log in PostgreSQL instead of Path.
		Postgres *Postgres `json:"-"`
	} `json:"eventlog"`
	ContentStore struct {
		Path     string      `json:"path"`
		URL      string      `json:"url"`
		FileMode fs.FileMode `json:"-"`
		DirMode  fs.FileMode `json:"-"`
		// S3, when set, keeps the blobs in an S3-compatible bucket instead
		// of Path.
		S3 *S3 `json:"-"`
	} `json:"contentstore"`
	Passwd struct {
		Path     string      `json:"path"`
		FileMode fs.FileMode `json:"-"`
	} `json:"passwd"`
	// Consumers is where consumers' positions are kept: by default the
	// directory "consumers" inside the event log's directory, with the
	// event log's modes; with the event log in PostgreSQL, by default in
	// its schema (InEventLog), shared by every node, unless consumers.path
	// places them in files.
	Consumers struct {
		Path       string `json:"path"`
		InEventLog bool   `json:"-"`
	} `json:"consumers"`
	Auth struct {
		BcryptCost    int           `json:"bcryptCost"`
		TokenKey      string        `json:"tokenKey"`
		TokenLifetime time.Duration `json:"-"`
		CacheTTL      time.Duration `json:"-"`
	} `json:"auth"`
	Limits struct {
		EventBytes   int64 `json:"eventBytes"`
		RequestBytes int64 `json:"requestBytes"`
		BatchEvents  int   `json:"batchEvents"`
		BodyDepth    int   `json:"bodyDepth"`
		BlobBytes    int64 `json:"blobBytes"`
	} `json:"limits"`
	CORS struct {
		Origins []string `json:"origins"`
	} `json:"cors"`
	// Admins are the users who may erase event bodies (POST
	// /events/<hash>/erase). Absent from apie.json: ["admin"], the user
	// apie-serve creates on a first start; AdminsSet tells the two apart.
	Admins    []string `json:"admins"`
	AdminsSet bool     `json:"-"`
	CGI       struct {
		// TrustWebRoot turns off apie-cgi's refusal to serve when its
		// files lie inside Apache's document root without the shipped
		// .htaccess (package webroot): for servers whose own
		// configuration keeps them out of reach.
		TrustWebRoot bool `json:"trustWebRoot"`
	} `json:"cgi"`
	Follow Follow `json:"follow"` // live reads; follow.go
}

// file is apie.json as written; pointers tell "absent" from "zero".
type file struct {
	EventLog *struct {
		Path     *string   `json:"path"`
		FileMode *string   `json:"fileMode"`
		DirMode  *string   `json:"dirMode"`
		Postgres *Postgres `json:"postgres"`
	} `json:"eventlog"`
	ContentStore *struct {
		Path     *string `json:"path"`
		URL      *string `json:"url"`
		FileMode *string `json:"fileMode"`
		DirMode  *string `json:"dirMode"`
		S3       *S3     `json:"s3"`
	} `json:"contentstore"`
	Passwd *struct {
		Path     *string `json:"path"`
		FileMode *string `json:"fileMode"`
	} `json:"passwd"`
	Consumers *struct {
		Path *string `json:"path"`
	} `json:"consumers"`
	Auth *struct {
		BcryptCost    *int    `json:"bcryptCost"`
		TokenKey      *string `json:"tokenKey"`
		TokenLifetime *string `json:"tokenLifetime"`
		CacheTTL      *string `json:"cacheTTL"`
	} `json:"auth"`
	Limits *struct {
		EventBytes   *int64 `json:"eventBytes"`
		RequestBytes *int64 `json:"requestBytes"`
		BatchEvents  *int   `json:"batchEvents"`
		BodyDepth    *int   `json:"bodyDepth"`
		BlobBytes    *int64 `json:"blobBytes"`
	} `json:"limits"`
	CORS *struct {
		Origins []string `json:"origins"`
	} `json:"cors"`
	CGI *struct {
		TrustWebRoot *bool `json:"trustWebRoot"`
	} `json:"cgi"`
	Admins *[]string   `json:"admins"`
	Follow *followFile `json:"follow"`
}

// Defaults returns the embedded configuration: everything under
// base/apie-data, modes as Apie's (files rw-r----- for the log, r--r----- for
// blobs, rw------- for passwd; directories rwxr-x---).
func Defaults(base string) Config {
	var c Config
	data := filepath.Join(base, "apie-data")
	c.EventLog.Path = filepath.Join(data, "events")
	c.EventLog.FileMode = eventlog.DefaultFileMode
	c.EventLog.DirMode = eventlog.DefaultDirMode
	c.ContentStore.Path = filepath.Join(data, "blobs")
	c.ContentStore.FileMode = blobstore.DefaultFileMode
	c.ContentStore.DirMode = blobstore.DefaultDirMode
	c.Passwd.Path = filepath.Join(data, "passwd")
	c.Passwd.FileMode = 0o600
	c.Consumers.Path = filepath.Join(c.EventLog.Path, ConsumersDirName)
	c.Auth.BcryptCost = auth.DefaultBcryptCost
	c.Admins = []string{"admin"}
	c.Auth.TokenKey = filepath.Join(data, "token.key")
	c.Auth.TokenLifetime = auth.DefaultTokenLifetime
	c.Auth.CacheTTL = auth.DefaultCacheTTL
	c.Limits.EventBytes = event.DefaultLimits.EventBytes
	c.Limits.RequestBytes = event.DefaultLimits.RequestBytes
	c.Limits.BatchEvents = event.DefaultLimits.BatchEvents
	c.Limits.BodyDepth = event.DefaultLimits.BodyDepth
	c.Limits.BlobBytes = 1 << 30
	c.Follow = defaultFollow
	return c
}

// Load reads and validates the config file at path. When the file names
// no passwd.path and a file "passwd" exists beside it (where Apie kept its
// users), that file is the users file; otherwise passwd.path, or the
// default apie-data/passwd.
func Load(path string) (Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrRead, err)
	}
	dir := filepath.Dir(abs)
	c, f, err := parse(data, dir)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", abs, err)
	}
	if f.Passwd == nil || f.Passwd.Path == nil {
		apie := filepath.Join(dir, ApiePasswdName)
		if _, err := os.Stat(apie); err == nil {
			c.Passwd.Path = apie
		} else if !errors.Is(err, fs.ErrNotExist) {
			return Config{}, fmt.Errorf("config %s: look for Apie's users file: %w", abs, err)
		}
	}
	c.Source = abs
	return c, nil
}

// Find returns the config to use: the file named by explicit if not empty,
// else the first apie.json found in dirs, else the defaults based at
// fallback. A named file that is missing is an error.
func Find(explicit string, dirs []string, fallback string) (Config, error) {
	if explicit != "" {
		return Load(explicit)
	}
	for _, d := range dirs {
		p := filepath.Join(d, FileName)
		if _, err := os.Stat(p); err == nil {
			return Load(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return Config{}, fmt.Errorf("%w: look for it: %w", ErrRead, err)
		}
	}
	abs, err := filepath.Abs(fallback)
	if err != nil {
		return Config{}, fmt.Errorf("config base %s: %w", fallback, err)
	}
	return Defaults(abs), nil
}

// Parse validates apie.json's bytes; relative paths resolve against base.
// It reads no files: Apie's passwd beside the config is Load's to find.
func Parse(data []byte, base string) (Config, error) {
	c, _, err := parse(data, base)
	return c, err
}

// parse is Parse that also returns the file as written, for Load to tell
// which keys were given.
func parse(data []byte, base string) (Config, file, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Config{}, f, fmt.Errorf("parse: %w", err)
	}
	if dec.More() {
		return Config{}, f, errors.New("parse: trailing data after the JSON object")
	}
	c := Defaults(base)
	var errs []error
	path := func(dst *string, src *string, key string) {
		if src == nil {
			return
		}
		if *src == "" {
			errs = append(errs, fmt.Errorf("%s: must not be empty", key))
			return
		}
		if filepath.IsAbs(*src) {
			*dst = filepath.Clean(*src)
		} else {
			*dst = filepath.Join(base, *src)
		}
	}
	mode := func(dst *fs.FileMode, src *string, key string, need fs.FileMode) {
		if src == nil {
			return
		}
		m, err := ParseMode(*src)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		if m&need != need {
			errs = append(errs, fmt.Errorf("%s: %q must give the owner at least %s", key, *src, FormatMode(need)))
			return
		}
		*dst = m
	}
	duration := func(dst *time.Duration, src *string, key string, max time.Duration) {
		if src == nil {
			return
		}
		d, err := time.ParseDuration(*src)
		if err != nil || d <= 0 || d > max {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration between 1s and %s (like \"1h\")", key, *src, max))
			return
		}
		*dst = d
	}
	positive := func(v int64, key string) bool {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %d", key, v))
			return false
		}
		return true
	}
	if e := f.EventLog; e != nil {
		path(&c.EventLog.Path, e.Path, "eventlog.path")
		mode(&c.EventLog.FileMode, e.FileMode, "eventlog.fileMode", 0o600)
		mode(&c.EventLog.DirMode, e.DirMode, "eventlog.dirMode", 0o700)
		if e.Postgres != nil {
			errs = append(errs, e.Postgres.check("eventlog.postgres"))
			c.EventLog.Postgres = e.Postgres
		}
	}
	// The consumers follow the event log unless placed themselves.
	c.Consumers.Path = filepath.Join(c.EventLog.Path, ConsumersDirName)
	if k := f.Consumers; k != nil {
		path(&c.Consumers.Path, k.Path, "consumers.path")
	}
	c.Consumers.InEventLog = c.EventLog.Postgres != nil && (f.Consumers == nil || f.Consumers.Path == nil)
	if s := f.ContentStore; s != nil {
		path(&c.ContentStore.Path, s.Path, "contentstore.path")
		if s.URL != nil {
			c.ContentStore.URL = *s.URL
		}
		mode(&c.ContentStore.FileMode, s.FileMode, "contentstore.fileMode", 0o400)
		mode(&c.ContentStore.DirMode, s.DirMode, "contentstore.dirMode", 0o700)
		if s.S3 != nil {
			errs = append(errs, s.S3.check("contentstore.s3"))
			c.ContentStore.S3 = s.S3
		}
	}
	if p := f.Passwd; p != nil {
		path(&c.Passwd.Path, p.Path, "passwd.path")
		mode(&c.Passwd.FileMode, p.FileMode, "passwd.fileMode", 0o600)
	}
	if a := f.Auth; a != nil {
		if a.BcryptCost != nil {
			if *a.BcryptCost < auth.MinBcryptCost || *a.BcryptCost > auth.MaxBcryptCost {
				errs = append(errs, fmt.Errorf("auth.bcryptCost: must be %d..%d, got %d", auth.MinBcryptCost, auth.MaxBcryptCost, *a.BcryptCost))
			} else {
				c.Auth.BcryptCost = *a.BcryptCost
			}
		}
		path(&c.Auth.TokenKey, a.TokenKey, "auth.tokenKey")
		duration(&c.Auth.TokenLifetime, a.TokenLifetime, "auth.tokenLifetime", auth.MaxTokenLifetime)
		duration(&c.Auth.CacheTTL, a.CacheTTL, "auth.cacheTTL", 24*time.Hour)
	}
	if l := f.Limits; l != nil {
		if l.EventBytes != nil && positive(*l.EventBytes, "limits.eventBytes") {
			c.Limits.EventBytes = *l.EventBytes
		}
		if l.RequestBytes != nil && positive(*l.RequestBytes, "limits.requestBytes") {
			c.Limits.RequestBytes = *l.RequestBytes
		}
		if l.BatchEvents != nil && positive(int64(*l.BatchEvents), "limits.batchEvents") {
			c.Limits.BatchEvents = *l.BatchEvents
		}
		if d := l.BodyDepth; d != nil {
			if *d < 1 || *d > event.MaxBodyDepth {
				errs = append(errs, fmt.Errorf("limits.bodyDepth: must be 1..%d, got %d", event.MaxBodyDepth, *d))
			} else {
				c.Limits.BodyDepth = *d
			}
		}
		if l.BlobBytes != nil && positive(*l.BlobBytes, "limits.blobBytes") {
			c.Limits.BlobBytes = *l.BlobBytes
		}
	}
	if o := f.CORS; o != nil {
		for _, origin := range o.Origins {
			if origin == "" {
				errs = append(errs, errors.New("cors.origins: empty origin"))
			}
		}
		c.CORS.Origins = o.Origins
	}
	if a := f.Admins; a != nil {
		for i, name := range *a {
			if name == "" || strings.ContainsAny(name, ":\n\r") {
				errs = append(errs, fmt.Errorf("admins[%d]: %q is not a user name (non-empty, no ':' or newline)", i, name))
			}
		}
		c.Admins, c.AdminsSet = append([]string{}, (*a)...), true
	}
	if g := f.CGI; g != nil && g.TrustWebRoot != nil {
		c.CGI.TrustWebRoot = *g.TrustWebRoot
	}
	errs = append(errs, parseFollow(f.Follow, &c.Follow)...)
	if err := errors.Join(errs...); err != nil {
		return Config{}, f, err
	}
	return c, f, nil
}

// publicConsumers says where the consumers are: a path, or the event
// log's PostgreSQL schema.
func (c Config) publicConsumers() map[string]any {
	if c.Consumers.InEventLog {
		return map[string]any{"postgres": map[string]any{"schema": c.EventLog.Postgres.Schema}}
	}
	return map[string]any{"path": c.Consumers.Path}
}

// Public is the configuration as GET /info shows it: paths, modes, limits.
// It holds no secrets (the token key's path, not its content).
func (c Config) Public() map[string]any {
	return map[string]any{
		"source":       c.Source,
		"eventlog":     c.publicEventLog(),
		"contentstore": c.publicContentStore(),
		"consumers":    c.publicConsumers(),
		"auth": map[string]any{
			"bcryptCost":    c.Auth.BcryptCost,
			"tokenLifetime": c.Auth.TokenLifetime.String(),
		},
		"limits": c.Limits,
		"cors":   c.CORS,
		"cgi":    c.CGI,
		"follow": c.Follow,
	}
}
