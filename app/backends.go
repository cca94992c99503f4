package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"apie/pgstore"
	"apie/s3store"
	"apie/store"
)

// errNotFiles is what the file stores' openers say when cfg keeps that
// store elsewhere: tools that only know files (the scrub, an offline
// verify) must not make an empty store of files beside the real one.
var errNotFiles = errors.New("this store is not kept in files (apie.json selects another backend)")

// remoteStores are the stores of the backends other than files.
type remoteStores struct {
	pg *pgstore.EventLog
	s3 *s3store.BlobStore
}

func (r *remoteStores) close() error {
	var err error
	if r.pg != nil {
		err = r.pg.Close()
	}
	if r.s3 != nil {
		if e := r.s3.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Existing makes Log refuse to create PostgreSQL tables that are not
// there: tools that check a store (verify) must not make an empty one. It
// returns s.
func (s *Stores) Existing() *Stores {
	s.existing = true
	return s
}

// WithClock makes the event log stamp new events with now() instead of
// the time (migrate replays each event's own createdAt). It returns s.
func (s *Stores) WithClock(now func() time.Time) *Stores {
	s.now = now
	return s
}

// Log opens, on first use, the event log cfg selects: in PostgreSQL when
// eventlog.postgres is set, else in files (EventLog).
func (s *Stores) Log(ctx context.Context) (store.EventLog, error) {
	p := s.cfg.EventLog.Postgres
	if p == nil {
		l, err := s.EventLog(ctx)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	if s.remote.pg != nil {
		return s.remote.pg, nil
	}
	dsn, err := p.ConnString()
	if err != nil {
		return nil, err
	}
	l, err := pgstore.Open(ctx, pgstore.Options{DSN: dsn, Schema: p.Schema, Existing: s.existing, Now: s.now})
	if err != nil {
		return nil, err
	}
	s.remote.pg = l
	return l, nil
}

// Blobs opens, on first use, the blob store cfg selects: in an
// S3-compatible bucket when contentstore.s3 is set, else in files
// (BlobStore).
func (s *Stores) Blobs(ctx context.Context) (store.BlobStore, error) {
	c := s.cfg.ContentStore.S3
	if c == nil {
		b, err := s.BlobStore(ctx)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	if s.remote.s3 != nil {
		return s.remote.s3, nil
	}
	access, secret, err := c.Keys()
	if err != nil {
		return nil, err
	}
	b, err := s3store.Open(ctx, s3store.Options{
		Endpoint: c.Endpoint, Bucket: c.Bucket, Region: c.Region, Secure: c.IsSecure(), Prefix: c.Prefix,
		AccessKey: access, SecretKey: secret, MaxBytes: s.cfg.Limits.BlobBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("open the blob store: %w", err)
	}
	s.remote.s3 = b
	return b, nil
}
