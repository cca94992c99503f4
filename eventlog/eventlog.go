package eventlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"apie/event"
	"apie/internal/durable"
	"apie/store"
	"apie/sum"
)

// The event log's names on disk; doc.go describes each file.
const (
	logFormatName = "format"
	logFormatLine = "apie-eventlog 1\n"
	logDataName   = "log"
	seqIdxName    = "seq.idx"
	hashIdxName   = "hash.idx"
	idIdxName     = "id.idx"
	logLockName   = "lock"
)

// The modes a log is made with when LogOptions gives none.
const (
	DefaultFileMode fs.FileMode = 0o640
	DefaultDirMode  fs.FileMode = 0o750
)

// LogOptions configures OpenEventLog. Zero values take the defaults.
type LogOptions struct {
	Dir      string           // the log's directory (eventlog.path); created if absent
	FileMode fs.FileMode      // mode of the log's files; default 0640
	DirMode  fs.FileMode      // mode of the directory; default 0750
	Logger   *slog.Logger     // nil = discard
	Now      func() time.Time // the clock for createdAt; nil = time.Now
	// BootID stands in for the machine's boot id (see doc.go, the index
	// headers); "" = the kernel's. Only tests that play a power loss set
	// it, through the mains' APIE_TEST_BOOT_ID.
	BootID string

	// indexSlots is C, the level-0 slot count of index files this log
	// creates (a power of two ≥ 2); 0 = defaultIndexSlots. Tests set it.
	indexSlots uint64
	// bootID returns the machine's boot id; nil = readBootID. Tests set it
	// to play a reboot.
	bootID func() string
	// hooks inject faults in tests.
	hooks logHooks
	// newSalt makes each new event's bodySalt; nil = event.NewSalt. The
	// golden test returns "" to write a log as it was before salts.
	newSalt func() string
}

// logHooks replace the system calls of a commit in tests (fault
// injection); a nil field means the real call.
type logHooks struct {
	writeLog func(f *os.File, b []byte, off int64) (int, error)
	syncLog  func(f *os.File) error
	writeSeq func(s *seqIndex, count uint64, ends []int64) error
	// beforeInserts runs after a group is committed, before its index
	// inserts.
	beforeInserts func()
	// eraseStep runs at each step of an erase (the eraseStep constants);
	// an error stops the erase there, as if the process died. At
	// eraseHalfWritten the overwrite is split in two pwrites with the
	// hook between them.
	eraseStep func(step eraseStep) error
	// noSeqlock makes readers ignore the erase generation: tests show
	// that a reader then sees a torn record.
	noSeqlock bool
	// readerWaits runs when a reader finds an erase overwriting a record
	// and waits for it, with the reader's context.
	readerWaits func(ctx context.Context)
}

// logFiles are the open files of a log. The writer replaces them (under
// filesMu) when it finds a file was deleted or replaced on disk.
type logFiles struct {
	log *os.File
	seq *seqIndex
	idx [2]*hashIndex // [0] hash.idx, [1] id.idx
	// streams are stream.idx and streams.idx (streams_files.go).
	streams streamFiles
}

// EventLog is an append-only, hash-chained event log in one directory
// (see doc.go for the format). It is safe for concurrent use by goroutines
// and by other processes sharing the directory: appends serialize on an
// flock'd lock file, reads take no lock and see only durable, committed
// records.
type EventLog struct {
	dir      string
	fileMode fs.FileMode
	dirMode  fs.FileMode
	logger   *slog.Logger
	now      func() time.Time
	bootID   string
	slots    uint64 // C for index files this log creates
	hooks    logHooks
	newSalt  func() string

	closeMu sync.RWMutex // held shared by every call, exclusively by Close
	closed  bool
	release func() // closeMu.RUnlock, bound once so use returns it without allocating

	filesMu sync.RWMutex
	files   logFiles
	retired []*os.File // files replaced on disk, closed by Close

	headMu sync.Mutex
	head   headCache

	queue commitQueue

	wmu sync.Mutex // held together with the flock by whoever writes
	w   writerState

	gen genFile // the erase generation, for readers (erase.go)

	names nameCache // the streams' names by the seq of their first event (streams_names.go)
}

// headCache remembers the hash of the last record seen by a reader, keyed
// by its seq and end offset.
type headCache struct {
	n    uint64
	end  int64
	hash sum.Hash
}

// writerState is what the holder of the writer lock knows; guarded by wmu.
type writerState struct {
	sticky      error // store.ErrWriteFailed or a *store.CorruptionError: appends refused until reopened
	damage      error // the damage marker's error (nil: no marker), valid while damageKnown
	damageKnown bool  // damage is as on disk unless the watch reports the marker's name
	noIntent    bool  // there is no erase intent unless the watch reports its name
	known       bool  // n, end and head are valid
	seqChecked  bool  // seq.idx was checked for a reboot's losses (see checkSeqAfterBootLocked)
	n           uint64
	end         int64
	head        sum.Hash
	hdr         [2]indexHeader    // index headers as last read or written
	streamHdr   [2]indexHeader    // stream.idx and streams.idx headers, likewise
	streamVer   map[string]uint64 // versions of streams this writer saw committed (a hint, checked before use)
	buf         []byte            // the last group's write buffer, kept for the next

	groups       int               // group commits made
	watch        *dirWatch         // the directory's names, once groups > 1 (nil if none could be made)
	lock         *durable.KeptLock // the lock file kept open, once watched (see lockForGroupLocked)
	watchTried   bool              // watchDir was called
	filesChecked time.Time         // last full check that the names lead to the open files; zero: none valid
	erasing      bool              // an erase is appending its tombstone: its intent is not to be finished
}

var _ store.EventLog = (*EventLog)(nil)

// OpenEventLog opens the log in opts.Dir, creating the directory and its
// files if absent (and fsyncing the directory). It refuses a directory
// whose format file names another format. Opening is cheap: if no writer
// holds the lock it repairs the tail (see doc.go) and reads nothing else;
// if one does, it leaves repair to that writer and reads the committed
// state. Damage before the tail does not fail the open: the log serves the
// intact records, Append returns the *store.CorruptionError, and Verify names it.
func OpenEventLog(ctx context.Context, opts LogOptions) (*EventLog, error) {
	if opts.Dir == "" {
		return nil, errors.New("open event log: no directory given")
	}
	l := &EventLog{
		dir:      opts.Dir,
		fileMode: opts.FileMode.Perm(),
		dirMode:  opts.DirMode.Perm(),
		logger:   opts.Logger,
		now:      opts.Now,
		slots:    opts.indexSlots,
		hooks:    opts.hooks,
		newSalt:  opts.newSalt,
	}
	if l.newSalt == nil {
		l.newSalt = event.NewSalt
	}
	l.release = l.closeMu.RUnlock
	if l.fileMode == 0 {
		l.fileMode = DefaultFileMode
	}
	if l.dirMode == 0 {
		l.dirMode = DefaultDirMode
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.slots == 0 {
		l.slots = defaultIndexSlots
	}
	if l.slots < 2 || l.slots&(l.slots-1) != 0 {
		return nil, fmt.Errorf("open event log: index size %d is not a power of two", l.slots)
	}
	switch {
	case opts.bootID != nil:
		l.bootID = opts.bootID()
	case opts.BootID != "":
		l.bootID = opts.BootID
	default:
		l.bootID = readBootID()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open event log %s: %w", l.dir, err)
	}
	if err := l.ensureDir(); err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	if err := l.checkFormat(ctx); err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	files, err := l.openFiles()
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	l.files = files
	if err := l.repairIfFree(ctx); err != nil {
		l.closeFiles()
		return nil, fmt.Errorf("open event log: %w", err)
	}
	return l, nil
}

// repairIfFree repairs the tail and the indexes if no other writer holds
// the lock; a busy lock means an active writer, which repairs before it
// appends. Only a done ctx fails it: damage is remembered (appends
// refused), and a repair that cannot write (a full disk) is logged and
// left to the next append, so that reads keep working.
func (l *EventLog) repairIfFree(ctx context.Context) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	unlock, ok, err := durable.TryLock(l.path(logLockName), l.fileMode)
	if err != nil || !ok {
		if err != nil {
			l.logger.Warn("cannot take the writer lock to repair; reading the committed state", "path", l.dir, "err", err)
		}
		return nil
	}
	defer unlock()
	if err := l.prepareLocked(ctx); err != nil && !isCorruption(err) {
		if ctx.Err() != nil {
			return err
		}
		l.logger.Warn("repair on open failed; the next append retries it", "path", l.dir, "err", err)
	}
	return nil
}

// repair takes the writer lock (waiting for it) and brings the tail and
// the indexes up to date.
func (l *EventLog) repair(ctx context.Context) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	unlock, err := durable.Lock(ctx, l.path(logLockName), l.fileMode)
	if err != nil {
		return err
	}
	defer unlock()
	return l.prepareLocked(ctx)
}

// Close closes the files, after appends in progress finish. It does not
// checkpoint the indexes (see Checkpoint). Later calls fail with store.ErrClosed; readers
// returned by Reader stay usable.
func (l *EventLog) Close() error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	err := l.closeFiles()
	l.gen.mu.Lock()
	if l.gen.f != nil {
		err = errors.Join(err, l.gen.f.Close())
		l.gen.f = nil
	}
	l.gen.mu.Unlock()
	l.wmu.Lock()
	if l.w.watch != nil {
		err = errors.Join(err, l.w.watch.close())
		l.w.watch = nil
	}
	if l.w.lock != nil {
		err = errors.Join(err, l.w.lock.Close())
		l.w.lock = nil
	}
	l.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("close event log %s: %w", l.dir, err)
	}
	return nil
}

// Checkpoint makes the indexes durable up to the head: it fsyncs seq.idx
// and both hash indexes, then records that in their headers. Appends do it
// every 4096 events; a long-running server also does it before it stops.
// Close does not, so a CGI request pays no extra fsyncs: after a crash of
// the machine the next writer re-inserts at most the entries since the
// last checkpoint. Checkpoint on a log that refuses appends does nothing.
func (l *EventLog) Checkpoint(ctx context.Context) error {
	release, err := l.use()
	if err != nil {
		return err
	}
	defer release()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.w.sticky != nil {
		return nil
	}
	unlock, err := durable.Lock(ctx, l.path(logLockName), l.fileMode)
	if err != nil {
		return err
	}
	defer unlock()
	if err := l.checkpointIfDirtyLocked(); err != nil {
		return fmt.Errorf("checkpoint event log %s: %w", l.dir, err)
	}
	return nil
}

// use marks the start of a call: it fails once the log is closed, and
// otherwise holds off Close until the caller calls release.
func (l *EventLog) use() (release func(), err error) {
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return nil, store.ErrClosed
	}
	return l.release, nil
}

// path returns the path of a file of the log.
func (l *EventLog) path(name string) string { return filepath.Join(l.dir, name) }

// current returns the open files.
func (l *EventLog) current() logFiles {
	l.filesMu.RLock()
	defer l.filesMu.RUnlock()
	return l.files
}

func isCorruption(err error) bool {
	return errors.Is(err, store.ErrCorrupt)
}
