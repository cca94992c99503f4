package consumerstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

var _ store.ConsumerStore = (*Store)(nil)

const (
	formatName = "format"
	formatLine = "apie-consumers 2\n"
	lockName   = "lock"
	slotsName  = "slots"
)

// Options configures Open. Zero modes take the defaults (rw-r----- and
// rwxr-x---, the event log's).
type Options struct {
	Dir      string
	FileMode fs.FileMode
	DirMode  fs.FileMode
	Now      func() time.Time // the clock of updatedAt; nil = time.Now
}

// Store is the consumer store in one directory. It keeps, as a hint, the
// pair each consumer it has met is in; the hint is checked against the
// pair's name on every use, so other processes may move, delete and
// create consumers at will.
type Store struct {
	dir      string
	fileMode fs.FileMode
	dirMode  fs.FileMode
	now      func() time.Time
	formatOK atomic.Bool // the format file was read and is this version's

	mu    sync.Mutex
	where map[string]int64 // consumer name -> pair index (a hint)
}

// Open returns the store in opts.Dir. It touches no file: the directory
// is made by the first move, and a missing one holds no consumers.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("open consumer store: no directory given")
	}
	s := &Store{dir: opts.Dir, fileMode: opts.FileMode.Perm(), dirMode: opts.DirMode.Perm(), now: opts.Now,
		where: map[string]int64{}}
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

// Get returns the consumer named name. It takes no lock unless it meets
// a pair that fails its checks (a write in progress may be under way).
func (s *Store) Get(ctx context.Context, name string) (store.Consumer, error) {
	if err := store.CheckConsumerName(name); err != nil {
		return store.Consumer{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Consumer{}, fmt.Errorf("get consumer %s: %w", name, err)
	}
	f, err := s.openSlots(os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return store.Consumer{}, fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Consumer{}, fmt.Errorf("get consumer %s: %w", name, err)
	}
	defer f.Close()
	p, _, err := s.find(f, name)
	if err == nil && p.damaged {
		p, err = underLock(s, ctx, func() (pair, error) { p, _, err := s.find(f, name); return p, err })
	}
	if err == nil && p.damaged {
		err = s.damage(p)
	}
	if err != nil {
		return store.Consumer{}, fmt.Errorf("get consumer %s: %w", name, err)
	}
	if !p.live {
		return store.Consumer{}, fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	return p.c, nil
}

// List returns every consumer, ordered by name, from one read of the slot
// file. A damaged pair fails the list.
func (s *Store) List(ctx context.Context) ([]store.Consumer, error) {
	f, err := s.openSlots(os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	defer f.Close()
	pairs, err := readPairs(f)
	if err == nil && anyDamaged(pairs) {
		pairs, err = underLock(s, ctx, func() ([]pair, error) { return readPairs(f) })
	}
	if err != nil {
		return nil, fmt.Errorf("list consumers: %w", err)
	}
	out := make([]store.Consumer, 0, len(pairs))
	for _, p := range pairs {
		if p.damaged {
			return nil, fmt.Errorf("list consumers: %w", s.damage(p))
		}
		if p.live {
			out = append(out, p.c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("list consumers: %w", &store.CorruptionError{Path: s.slotsPath(), Offset: -1,
				Reason: "consumer " + out[i].Name + " is in two pairs"})
		}
	}
	return out, nil
}

// Move creates or moves a consumer (see store.ConsumerStore): under the
// lock, it writes the older slot of the consumer's pair and fdatasyncs
// the file.
func (s *Store) Move(ctx context.Context, m store.ConsumerMove) (store.Consumer, bool, error) {
	if err := store.CheckConsumerName(m.Name); err != nil {
		return store.Consumer{}, false, err
	}
	if (m.Seq == 0) != (m.After == sum.Genesis) {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: seq %d does not go with hash %s", m.Name, m.Seq, m.After)
	}
	if len(m.UpdatedBy) > maxUpdatedBy {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: updatedBy of %d bytes is over the limit of %d", m.Name, len(m.UpdatedBy), maxUpdatedBy)
	}
	c, created, err := s.move(ctx, m)
	if err != nil {
		return store.Consumer{}, false, fmt.Errorf("move consumer %s: %w", m.Name, err)
	}
	return c, created, nil
}

func (s *Store) move(ctx context.Context, m store.ConsumerMove) (store.Consumer, bool, error) {
	unlock, err := s.lock(ctx)
	if err != nil {
		return store.Consumer{}, false, err
	}
	defer unlock()
	f, made, err := s.openForWrite()
	if err != nil {
		return store.Consumer{}, false, err
	}
	defer f.Close()
	p, free, err := s.find(f, m.Name)
	if err != nil {
		return store.Consumer{}, false, err
	}
	if p.damaged {
		return store.Consumer{}, false, s.damage(p)
	}
	exists := p.live
	cur := p.c
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
	if !exists {
		p = free
	}
	if p.fresh {
		// A new pair is formatted first: its slot 1 made a free slot, so
		// that once the consumer is written no slot of it is ever empty.
		if err := writeSlot(f, p.index, 1, slot{gen: 1, kind: kindFree}); err != nil {
			return store.Consumer{}, false, err
		}
		p.next, p.gen = 0, 2
	}
	next := store.Consumer{Name: m.Name, After: m.After, Seq: m.Seq,
		UpdatedAt: time.Unix(0, s.now().UnixNano()).UTC(), UpdatedBy: m.UpdatedBy}
	if err := writeSlot(f, p.index, p.next, slot{gen: p.gen, kind: kindConsumer, c: next}); err != nil {
		return store.Consumer{}, false, err
	}
	if made {
		if err := durable.SyncDir(s.dir); err != nil {
			return store.Consumer{}, false, err
		}
	}
	s.remember(m.Name, p.index)
	return next, !exists, nil
}

// Delete removes the consumer named name: one durable write of a free
// slot over the older slot of its pair. A damaged consumer (both slots
// failing their checks) is removed the same way.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.CheckConsumerName(name); err != nil {
		return err
	}
	if _, err := os.Stat(s.slotsPath()); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("consumer %s: %w", name, store.ErrNotFound)
	}
	if err := s.delete(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("consumer %s: %w", name, err)
		}
		return fmt.Errorf("delete consumer %s: %w", name, err)
	}
	return nil
}

func (s *Store) delete(ctx context.Context, name string) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	f, _, err := s.openForWrite()
	if err != nil {
		return err
	}
	defer f.Close()
	p, _, err := s.find(f, name)
	if err != nil {
		return err
	}
	if !p.live && !p.damaged {
		return store.ErrNotFound
	}
	if p.damaged {
		p.next, p.gen = 0, 1 // the other slot fails its check: any gen wins
	}
	if err := writeSlot(f, p.index, p.next, slot{gen: p.gen, kind: kindFree}); err != nil {
		return err
	}
	s.forget(name)
	return nil
}

// find returns the pair holding the consumer named name (live, or damaged
// and still showing that name); if there is none, the returned pair is
// not live and free is the pair a new consumer would take. It tries the
// remembered pair first, then reads the whole file.
func (s *Store) find(f *os.File, name string) (p, free pair, err error) {
	if i, ok := s.hint(name); ok {
		b := make([]byte, pairSize)
		n, err := f.ReadAt(b, i*pairSize)
		if err != nil && !errors.Is(err, io.EOF) {
			return pair{}, pair{}, fmt.Errorf("read %s: %w", s.slotsPath(), err)
		}
		if n == pairSize {
			if p := decodePair(i, b); p.live && p.c.Name == name {
				return p, pair{}, nil
			}
		}
		s.forget(name)
	}
	pairs, err := readPairs(f)
	if err != nil {
		return pair{}, pair{}, err
	}
	free.index = -1
	found := pair{index: -1}
	for _, q := range pairs {
		if q.live && q.c.Name == name || q.damaged && q.name == name {
			if found.index >= 0 {
				return pair{}, pair{}, &store.CorruptionError{Path: s.slotsPath(), Offset: q.index * pairSize,
					Reason: "consumer " + name + " is in two pairs"}
			}
			found = q
		}
		if free.index < 0 && q.free() {
			free = q
		}
	}
	if free.index < 0 {
		free = pair{index: int64(len(pairs)), fresh: true}
	}
	if found.index >= 0 {
		if found.live {
			s.remember(name, found.index)
		}
		return found, free, nil
	}
	return pair{index: -1}, free, nil
}

// readPairs reads and decodes the whole slot file. A file whose length
// is not a whole number of pairs (a crash while a new pair was written)
// reads as if padded with zeros.
func readPairs(f *os.File) ([]pair, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	size := fi.Size()
	b := make([]byte, (size+pairSize-1)/pairSize*pairSize)
	if _, err := f.ReadAt(b[:size], 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	pairs := make([]pair, 0, len(b)/pairSize)
	for i := 0; i*pairSize < len(b); i++ {
		pairs = append(pairs, decodePair(int64(i), b[i*pairSize:(i+1)*pairSize]))
	}
	return pairs, nil
}

func anyDamaged(pairs []pair) bool {
	for _, p := range pairs {
		if p.damaged {
			return true
		}
	}
	return false
}

// writeSlot writes one slot of the pair at index and fdatasyncs the file.
func writeSlot(f *os.File, index int64, which int, sl slot) error {
	b := make([]byte, slotSize)
	if err := encodeSlot(b, sl); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, index*pairSize+int64(which)*slotSize); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), noSpace(err))
	}
	if err := datasync(f); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), noSpace(err))
	}
	return nil
}

// damage is the error for a damaged pair: it names the consumer and the
// command that removes it.
func (s *Store) damage(p pair) error {
	who := "a consumer whose name is unreadable"
	if p.name != "" {
		who = "consumer " + p.name + " (the admin command \"consumer rm " + p.name + "\" removes it)"
	}
	return &store.CorruptionError{Path: s.slotsPath(), Offset: p.index * pairSize, Reason: who + ": " + p.reason}
}

// underLock runs read again under the writers' lock, where no write is in
// progress: a pair that fails its checks there is damaged, not being
// written.
func underLock[T any](s *Store, ctx context.Context, read func() (T, error)) (T, error) {
	var zero T
	unlock, err := durable.Lock(ctx, filepath.Join(s.dir, lockName), s.fileMode)
	if err != nil {
		return zero, err
	}
	defer unlock()
	return read()
}
