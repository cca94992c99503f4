package consumerstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

var _ store.ConsumerStore = (*Store)(nil)

const (
	formatName = "format"
	formatLine = "apie-consumers 1\n"
	lockName   = "lock"
	filePrefix = "c-"
	// maxFileBytes bounds a consumer file; a longer one is damage.
	maxFileBytes = 4096
)

// Options configures Open. Zero modes take the defaults (rw-r----- and
// rwxr-x---, the event log's).
type Options struct {
	Dir      string
	FileMode fs.FileMode
	DirMode  fs.FileMode
	Now      func() time.Time // the clock of updatedAt; nil = time.Now
}

// Store is the consumer store in one directory.
type Store struct {
	dir      string
	fileMode fs.FileMode
	dirMode  fs.FileMode
	now      func() time.Time
}

// Open returns the store in opts.Dir. It touches no file: the directory
// is made by the first move, and a missing one holds no consumers.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("open consumer store: no directory given")
	}
	s := &Store{dir: opts.Dir, fileMode: opts.FileMode.Perm(), dirMode: opts.DirMode.Perm(), now: opts.Now}
	if s.fileMode == 0 {
		s.fileMode = 0o640
	}
	if s.dirMode == 0 {
		s.dirMode = 0o750
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// record is a consumer file's JSON, members in the order of the format.
type record struct {
	Name      string    `json:"name"`
	After     *sum.Hash `json:"after"`
	Seq       uint64    `json:"seq"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

// Get returns the consumer named name.
func (s *Store) Get(ctx context.Context, name string) (store.Consumer, error) {
	if err := store.CheckConsumerName(name); err != nil {
		return store.Consumer{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Consumer{}, fmt.Errorf("get consumer %s: %w", name, err)
	}
	c, ok, err := s.read(name)
	if err != nil {
		return store.Consumer{}, fmt.Errorf("get consumer %s: %w", name, err)
	}
	if !ok {
		return store.Consumer{}, fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	return c, nil
}

// List returns every consumer, ordered by name. A consumer deleted while
// List runs may be left out; a damaged one fails the list.
func (s *Store) List(ctx context.Context) ([]store.Consumer, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	if err := s.checkFormat(); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // never moved into
	} else if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutPrefix(e.Name(), filePrefix)
		if ok && store.CheckConsumerName(name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make([]store.Consumer, 0, len(names))
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list consumers: %w", err)
		}
		c, ok, err := s.read(name)
		if err != nil {
			return nil, fmt.Errorf("list consumers: %w", err)
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// Move creates or moves a consumer (see store.ConsumerStore).
func (s *Store) Move(ctx context.Context, m store.ConsumerMove) (store.Consumer, bool, error) {
	if err := store.CheckConsumerName(m.Name); err != nil {
		return store.Consumer{}, false, err
	}
	if (m.Seq == 0) != (m.After == sum.Genesis) {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: seq %d does not go with hash %s", m.Name, m.Seq, m.After)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: %w", m.Name, err)
	}
	defer unlock()
	cur, exists, err := s.read(m.Name)
	if err != nil {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: %w", m.Name, err)
	}
	if !exists {
		cur = store.Consumer{Name: m.Name}
	}
	if m.IfAbsent && exists || m.IfMatch != nil && (!exists || *m.IfMatch != cur.After) {
		return store.Consumer{}, false, &store.ConsumerPreconditionError{Current: cur, Exists: exists}
	}
	if exists && m.Seq < cur.Seq && !m.Force {
		return store.Consumer{}, false, &store.ConsumerConflictError{Current: cur}
	}
	if exists && m.Seq == cur.Seq && m.After == cur.After {
		return cur, false, nil
	}
	next := store.Consumer{Name: m.Name, After: m.After, Seq: m.Seq, UpdatedAt: s.now().UTC(), UpdatedBy: m.UpdatedBy}
	b, err := encode(next)
	if err != nil {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: %w", m.Name, err)
	}
	if err := durable.WriteFile(s.path(m.Name), b, s.fileMode); err != nil {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: %w", m.Name, noSpace(err))
	}
	return next, !exists, nil
}

// Delete removes the consumer named name.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.CheckConsumerName(name); err != nil {
		return err
	}
	if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	defer unlock()
	err = os.Remove(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	if err := durable.SyncDir(s.dir); err != nil {
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	return nil
}

// lock makes the directory and its format file if they are missing and
// takes the writers' lock.
func (s *Store) lock(ctx context.Context) (unlock func(), err error) {
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	unlock, err = durable.Lock(ctx, filepath.Join(s.dir, lockName), s.fileMode)
	if err != nil {
		return nil, err
	}
	err = s.checkFormat()
	if errors.Is(err, fs.ErrNotExist) {
		err = durable.WriteFile(filepath.Join(s.dir, formatName), []byte(formatLine), s.fileMode)
	}
	if err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// ensureDir creates the store's directory (and its parents) with the
// configured mode, and fsyncs its parent.
func (s *Store) ensureDir() error {
	if fi, err := os.Stat(s.dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", s.dir)
		}
		return nil
	}
	parent := filepath.Dir(s.dir)
	if err := os.MkdirAll(parent, s.dirMode); err != nil {
		return fmt.Errorf("create parent of consumer directory: %w", err)
	}
	if err := os.Mkdir(s.dir, s.dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create consumer directory: %w", err)
	}
	if err := os.Chmod(s.dir, s.dirMode); err != nil {
		return fmt.Errorf("set mode of consumer directory: %w", err)
	}
	return durable.SyncDir(parent)
}

// checkFormat reads the format file: fs.ErrNotExist when there is none,
// an error when it names another format.
func (s *Store) checkFormat() error {
	path := filepath.Join(s.dir, formatName)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("consumer store %s has no format file: %w", s.dir, fs.ErrNotExist)
	}
	if err != nil {
		return fmt.Errorf("read format file: %w", err)
	}
	if string(b) != formatLine {
		return fmt.Errorf("%s: unsupported format %q (this apie reads %q)", path, b, formatLine)
	}
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, filePrefix+name) }

// read reads the consumer named name; ok is false when it does not exist.
func (s *Store) read(name string) (c store.Consumer, ok bool, err error) {
	path := s.path(name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return store.Consumer{}, false, nil
	}
	if err != nil {
		return store.Consumer{}, false, fmt.Errorf("read consumer: %w", err)
	}
	c, err = decode(b, name)
	if err != nil {
		return store.Consumer{}, false, &store.CorruptionError{Path: path, Offset: -1, Reason: err.Error()}
	}
	return c, true, nil
}

// encode is the file's bytes for c.
func encode(c store.Consumer) ([]byte, error) {
	r := record{Name: c.Name, Seq: c.Seq, UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy}
	if c.Seq > 0 {
		h := c.After
		r.After = &h
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if len(b)+1 > maxFileBytes {
		return nil, fmt.Errorf("consumer record of %d bytes is over the limit of %d", len(b)+1, maxFileBytes)
	}
	return append(b, '\n'), nil
}

// decode parses a consumer file that should hold the consumer name.
func decode(b []byte, name string) (store.Consumer, error) {
	if len(b) > maxFileBytes {
		return store.Consumer{}, fmt.Errorf("%d bytes, over the limit of %d", len(b), maxFileBytes)
	}
	line, ok := bytes.CutSuffix(b, []byte("\n"))
	if !ok || bytes.IndexByte(line, '\n') >= 0 {
		return store.Consumer{}, errors.New("not one line ending in a newline")
	}
	var r record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return store.Consumer{}, fmt.Errorf("not a consumer record: %w", err)
	}
	if dec.More() {
		return store.Consumer{}, errors.New("data after the record")
	}
	if r.Name != name {
		return store.Consumer{}, fmt.Errorf("holds consumer %q, not %q", r.Name, name)
	}
	if (r.After == nil) != (r.Seq == 0) {
		return store.Consumer{}, fmt.Errorf("after %v does not go with seq %d", r.After, r.Seq)
	}
	c := store.Consumer{Name: r.Name, After: sum.Genesis, Seq: r.Seq, UpdatedAt: r.UpdatedAt, UpdatedBy: r.UpdatedBy}
	if r.After != nil {
		c.After = *r.After
	}
	return c, nil
}

// noSpace adds store.ErrNoSpace to a full disk's error.
func noSpace(err error) error {
	if durable.IsNoSpace(err) {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}
