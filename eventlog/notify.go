package eventlog

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultPollInterval is how often a Notifier without a kernel watch
// looks at the log for growth.
const DefaultPollInterval = time.Second

// NotifyOptions configures NewNotifier.
type NotifyOptions struct {
	// Poll turns the kernel watch off: the Notifier looks at seq.idx every
	// PollInterval instead (where the kernel cannot tell, and in tests of
	// that fallback).
	Poll         bool
	PollInterval time.Duration // default DefaultPollInterval
	Logger       *slog.Logger  // nil = discard
}

// Notifier tells the followers of a log directory, in this process, when
// the log may have grown: by an append of this process or of any other
// sharing the directory. One Notifier serves every follower of a process;
// it watches the directory once (inotify on Linux, for seq.idx, whose
// growth is what commits events) and wakes all followers by closing one
// channel. Where the kernel cannot watch, it stats seq.idx every
// PollInterval. Wake-ups may be spurious; a follower rereads the head.
//
// The watch starts with the first call to Changed and ends with Close.
type Notifier struct {
	dir  string
	opts NotifyOptions

	mu      sync.Mutex
	ch      chan struct{} // closed at the next change
	started bool
	closed  bool
	stop    context.CancelFunc
	done    chan struct{}
	mode    string // "inotify" or "poll", once started
}

// NewNotifier returns a Notifier for the event log in dir. It does not
// touch the directory until Changed is first called.
func NewNotifier(dir string, opts NotifyOptions) *Notifier {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{dir: dir, opts: opts, ch: make(chan struct{})}
}

// Changed returns a channel that is closed at the next possible change of
// the log after this call. A caller takes the channel first, then reads
// the head, then waits on the channel: no append after the read is missed.
func (n *Notifier) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started && !n.closed {
		n.start()
	}
	return n.ch
}

// Poke wakes every follower now: this process has appended.
func (n *Notifier) Poke() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.broadcast()
}

// Mode says how the Notifier learns of changes: "inotify", "poll", or ""
// before the first Changed.
func (n *Notifier) Mode() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mode
}

// broadcast wakes every waiter; n.mu is held.
func (n *Notifier) broadcast() {
	close(n.ch)
	n.ch = make(chan struct{})
}

// start begins watching; n.mu is held.
func (n *Notifier) start() {
	n.started = true
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	n.done = make(chan struct{})
	var w watcher
	if !n.opts.Poll {
		var err error
		w, err = watchLog(n.dir)
		if err != nil {
			n.opts.Logger.Info("event log notifier: no kernel watch, polling", "every", n.opts.PollInterval, "err", err)
		}
	}
	if w != nil {
		n.mode = "inotify"
		go n.runWatch(ctx, w)
		return
	}
	n.mode = "poll"
	if n.opts.Poll {
		n.opts.Logger.Info("event log notifier: polling, as configured", "every", n.opts.PollInterval)
	}
	go n.runPoll(ctx)
}

// watcher is a kernel watch on the log directory: wait blocks until seq.idx
// may have changed; an error means the watch is lost.
type watcher interface {
	wait() error
	close() error
}

// runWatch wakes the followers on every change the kernel reports, and
// falls back to polling if the watch is lost.
func (n *Notifier) runWatch(ctx context.Context, w watcher) {
	go func() {
		<-ctx.Done()
		w.close()
	}()
	for {
		err := w.wait()
		if ctx.Err() != nil {
			close(n.done)
			return
		}
		n.Poke()
		if err != nil {
			n.opts.Logger.Warn("event log notifier: kernel watch lost, polling", "dir", n.dir, "err", err)
			n.mu.Lock()
			n.mode = "poll"
			n.mu.Unlock()
			n.runPoll(ctx)
			return
		}
	}
}

// runPoll stats seq.idx every PollInterval and wakes the followers when
// its size or modification time changed.
func (n *Notifier) runPoll(ctx context.Context) {
	defer close(n.done)
	t := time.NewTicker(n.opts.PollInterval)
	defer t.Stop()
	last := n.stat()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if cur := n.stat(); cur != last {
			last = cur
			n.Poke()
		}
	}
}

// fileState is what polling compares.
type fileState struct {
	size  int64
	mtime time.Time
	err   bool
}

func (n *Notifier) stat() fileState {
	fi, err := os.Stat(filepath.Join(n.dir, seqIdxName))
	if err != nil {
		return fileState{err: true}
	}
	return fileState{size: fi.Size(), mtime: fi.ModTime()}
}

// Close stops the watch and wakes every follower one last time.
func (n *Notifier) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	stop, done := n.stop, n.done
	n.broadcast()
	n.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	<-done
	return nil
}

// errWatchLost says the kernel watch can no longer be trusted.
var errWatchLost = errors.New("watch lost: events dropped or the directory went away")
