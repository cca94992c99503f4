package consumerstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"apie/internal/durable"
	"apie/store"
)

// openSlots opens the slot file after checking the format file (once per
// Store). A store never moved into has neither: fs.ErrNotExist.
func (s *Store) openSlots(flag int) (*os.File, error) {
	f, err := os.OpenFile(s.slotsPath(), flag, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if ferr := s.checkFormat(); ferr != nil && !errors.Is(ferr, fs.ErrNotExist) {
			return nil, ferr // a directory of another format
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("open consumer slots: %w", err)
	}
	if err := s.checkFormat(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openForWrite opens the slot file for a writer holding the lock,
// creating it if missing; made says it was created (its directory entry
// is then synced after the first write).
func (s *Store) openForWrite() (f *os.File, made bool, err error) {
	f, err = s.openSlots(os.O_RDWR)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return f, false, err
	}
	f, err = os.OpenFile(s.slotsPath(), os.O_RDWR|os.O_CREATE|os.O_EXCL, s.fileMode)
	if err != nil {
		return nil, false, fmt.Errorf("create consumer slots: %w", noSpace(err))
	}
	if err := f.Chmod(s.fileMode); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("set mode of consumer slots: %w", err)
	}
	return f, true, nil
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
		if err == nil {
			s.formatOK.Store(true)
		}
	}
	if err != nil {
		unlock()
		return nil, noSpace(err)
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

// checkFormat reads the format file, unless this Store already did:
// fs.ErrNotExist when there is none, an error when it names another
// format.
func (s *Store) checkFormat() error {
	if s.formatOK.Load() {
		return nil
	}
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
	s.formatOK.Store(true)
	return nil
}

func (s *Store) slotsPath() string { return filepath.Join(s.dir, slotsName) }

func (s *Store) hint(name string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.where[name]
	return i, ok
}

func (s *Store) remember(name string, index int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.where[name] = index
}

func (s *Store) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.where, name)
}

// noSpace adds store.ErrNoSpace to a full disk's error.
func noSpace(err error) error {
	if durable.IsNoSpace(err) {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
