package eventlog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"apie/internal/durable"
	"apie/store"
)

// Creating, opening and re-opening the files of an event log.

// ensureDir creates the log directory (and its parents) if it is missing,
// with the configured mode, and fsyncs its parent.
func (l *EventLog) ensureDir() error {
	if err := durable.MakeDirAll(l.dir, l.dirMode); err != nil {
		return fmt.Errorf("log directory: %w", err)
	}
	return nil
}

// checkFormat reads the format file; if it is missing it creates the log's
// files under the writer lock, writing the format file last.
func (l *EventLog) checkFormat(ctx context.Context) error {
	b, err := os.ReadFile(l.path(logFormatName))
	if errors.Is(err, fs.ErrNotExist) {
		// Another process may be creating the log right now: decide under
		// the lock, and read again what it wrote.
		unlock, lerr := durable.Lock(ctx, l.path(logLockName), l.fileMode)
		if lerr != nil {
			return lerr
		}
		defer unlock()
		b, err = os.ReadFile(l.path(logFormatName))
		if errors.Is(err, fs.ErrNotExist) {
			return l.createLocked()
		}
	}
	if err != nil {
		return fmt.Errorf("read format file: %w", err)
	}
	if string(b) != logFormatLine {
		return fmt.Errorf("%s: unsupported format %q (this apie reads %q)", l.path(logFormatName), b, logFormatLine)
	}
	return nil
}

// createLocked makes the files of a new, empty log. It refuses a directory
// that already holds a non-empty log without a format file.
func (l *EventLog) createLocked() error {
	if fi, err := os.Stat(l.path(logDataName)); err == nil && fi.Size() > 0 {
		return fmt.Errorf("%s holds a log but no format file; refusing to guess its format", l.dir)
	}
	// The four files are created empty, so they hold no data to sync:
	// one fsync of the directory makes their names (and inodes) durable,
	// before the format file that says the log is whole.
	for _, name := range []string{logDataName, seqIdxName, hashIdxName, idIdxName} {
		if err := l.createEmpty(name); err != nil {
			return err
		}
	}
	if err := durable.SyncDir(l.dir); err != nil {
		return fmt.Errorf("create the log's files: %w", err)
	}
	// The lock file was made just before, under the umask: give it the
	// configured mode too, so verify finds nothing to change.
	if err := fixMode(l.path(logLockName), l.fileMode); err != nil {
		return fmt.Errorf("set mode of lock file: %w", err)
	}
	if err := durable.WriteFile(l.path(logFormatName), []byte(logFormatLine), l.fileMode); err != nil {
		return fmt.Errorf("create format file: %w", err)
	}
	l.logger.Info("created event log", "path", l.dir)
	return nil
}

// createEmpty creates the empty file name with the configured mode, unless
// it exists; the caller syncs the directory.
func (l *EventLog) createEmpty(name string) error {
	f, err := os.OpenFile(l.path(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, l.fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	err = f.Chmod(l.fileMode)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("set mode of %s: %w", name, err)
	}
	return nil
}

// openFile opens a file of the log for reading and writing. With create it
// creates a missing file with the configured mode and fsyncs the directory.
func (l *EventLog) openFile(name string, create bool) (f *os.File, created bool, err error) {
	path := l.path(name)
	f, err = os.OpenFile(path, os.O_RDWR, 0)
	if err == nil || !create || !errors.Is(err, fs.ErrNotExist) {
		if err != nil {
			return nil, false, fmt.Errorf("open %s: %w", name, err)
		}
		return f, false, nil
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, l.fileMode)
	if errors.Is(err, fs.ErrExist) {
		return l.openFile(name, false)
	}
	if err != nil {
		return nil, false, fmt.Errorf("create %s: %w", name, err)
	}
	if err := f.Chmod(l.fileMode); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("set mode of %s: %w", name, err)
	}
	if err := durable.SyncDir(l.dir); err != nil {
		f.Close()
		return nil, false, err
	}
	return f, true, nil
}

// openFiles opens the log and its indexes. The log itself must exist (it
// is created with the format file); a missing index is created empty and
// rebuilt by the next writer.
func (l *EventLog) openFiles() (logFiles, error) {
	var files logFiles
	var err error
	if files.log, _, err = l.openFile(logDataName, false); err != nil {
		return logFiles{}, err
	}
	f, _, err := l.openFile(seqIdxName, true)
	if err != nil {
		files.log.Close()
		return logFiles{}, err
	}
	files.seq = &seqIndex{path: l.path(seqIdxName), f: f}
	for i, k := range []indexKind{kindHash, kindID} {
		f, _, err := l.openFile(k.String(), true)
		if err != nil {
			closeAll(files)
			return logFiles{}, err
		}
		files.idx[i] = &hashIndex{path: l.path(k.String()), kind: k, f: f}
	}
	if files.streams, err = l.openStreamFiles(); err != nil {
		closeAll(files)
		return logFiles{}, err
	}
	return files, nil
}

// closeAll closes whichever of the files are open.
func closeAll(files logFiles) error {
	var errs []error
	if files.log != nil {
		errs = append(errs, files.log.Close())
	}
	if files.seq != nil {
		errs = append(errs, files.seq.f.Close())
	}
	for _, x := range files.idx {
		if x != nil {
			errs = append(errs, x.f.Close())
		}
	}
	errs = append(errs, files.streams.close())
	return errors.Join(errs...)
}

// closeFiles closes the current and the retired files.
func (l *EventLog) closeFiles() error {
	l.filesMu.Lock()
	defer l.filesMu.Unlock()
	errs := []error{closeAll(l.files)}
	for _, f := range l.retired {
		errs = append(errs, f.Close())
	}
	l.files, l.retired = logFiles{}, nil
	return errors.Join(errs...)
}

// watchedNames are the names in the log's directory its writer watches;
// watchFiles, watchLock, watchDamage and watchErasing are their masks for
// dirWatch.changed.
var watchedNames = []string{logDataName, seqIdxName, hashIdxName, idIdxName, logLockName, damagedName, streamIdxName, streamsName, erasingName}

const (
	watchFiles   uint32 = 0b011001111
	watchLock    uint32 = 0b000010000
	watchDamage  uint32 = 0b000100000
	watchErasing uint32 = 0b100000000
)

// filesCheckEvery bounds how long the writer trusts its directory watch
// alone: changes it cannot see (a parent directory renamed) are found by
// the full check within this time.
const filesCheckEvery = time.Second

// refreshFilesLocked re-opens any index file that was deleted or replaced
// on disk since it was opened (so this process never writes to an orphan),
// creating it if missing. A missing or replaced log is a *store.CorruptionError:
// the chain cannot be guessed. The caller holds the writer lock.
//
// It compares the open files with their paths (eight stats) unless the
// directory watch shows that no name of the log was created, removed or
// renamed since the last such check, made less than filesCheckEvery ago.
func (l *EventLog) refreshFilesLocked() error {
	if l.namesUnchangedLocked() {
		return nil
	}
	l.w.filesChecked = time.Time{} // valid again only once the check succeeds
	if err := l.checkFilesLocked(); err != nil {
		return err
	}
	l.w.filesChecked = time.Now()
	return nil
}

// namesUnchangedLocked reports whether the log's names surely still lead
// to its open files (see refreshFilesLocked). The watch is made at the
// second group commit, so a CGI process, which makes one, never pays for
// it; it drains the watch before any full check, so the check covers
// every change queued before it.
func (l *EventLog) namesUnchangedLocked() bool {
	if l.w.watch == nil {
		if l.w.groups >= 2 && !l.w.watchTried {
			l.w.watchTried = true
			w, err := watchDir(l.dir, watchedNames)
			if err != nil {
				l.logger.Debug("no directory watch; stat'ing the log's files before each append", "path", l.dir, "err", err)
			}
			l.w.watch = w
		}
		return false
	}
	changed := l.w.watch.changed(watchFiles)
	fresh := !l.w.filesChecked.IsZero() && time.Since(l.w.filesChecked) < filesCheckEvery
	return fresh && !changed
}

// checkFilesLocked is refreshFilesLocked's full check.
func (l *EventLog) checkFilesLocked() error {
	cur := l.files
	if same, err := sameFile(cur.log, l.path(logDataName)); err != nil || !same {
		if err == nil {
			err = errors.New("the log file was replaced while open")
		}
		return &store.CorruptionError{Path: l.path(logDataName), Offset: -1, Err: err}
	}
	next := cur
	var old []*os.File
	same, err := sameFile(cur.seq.f, cur.seq.path)
	if err != nil {
		return err
	}
	if !same {
		f, _, err := l.openFile(seqIdxName, true)
		if err != nil {
			return err
		}
		l.logger.Warn("seq.idx was replaced or deleted; re-opened it", "path", cur.seq.path)
		next.seq = &seqIndex{path: cur.seq.path, f: f}
		old = append(old, cur.seq.f)
		l.w.known = false
	}
	for i, x := range cur.idx {
		same, err := sameFile(x.f, x.path)
		if err != nil {
			return err
		}
		if same {
			continue
		}
		f, _, err := l.openFile(x.kind.String(), true)
		if err != nil {
			return err
		}
		l.logger.Warn("index was replaced or deleted; re-opened it", "path", x.path)
		next.idx[i] = &hashIndex{path: x.path, kind: x.kind, f: f}
		old = append(old, x.f)
	}
	streams, oldStreams, err := l.refreshStreamFilesLocked(cur.streams)
	if err != nil {
		return err
	}
	next.streams, old = streams, append(old, oldStreams...)
	if len(old) > 0 {
		l.filesMu.Lock()
		l.files = next
		l.retired = append(l.retired, old...)
		l.filesMu.Unlock()
	}
	return nil
}

// sameFile reports whether the open file f is still the file at path; a
// missing path is not an error (it reports false).
func sameFile(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat open %s: %w", path, err)
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	return os.SameFile(fi, pi), nil
}
