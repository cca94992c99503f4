package app

import (
	"os"
	"strings"
	"sync"
	"time"

	"apie/config"
	"apie/eventlog"
	"apie/handler"
)

// notifier is the process's one eventlog.Notifier, made on first use.
type notifier struct {
	once sync.Once
	n    *eventlog.Notifier
}

func (n *notifier) close() {
	if n.n != nil {
		n.n.Close()
	}
}

// Notifier returns the process's watch on the event log directory, shared
// by every follower (made on first use; it watches from the first
// follower on).
func (s *Stores) Notifier() *eventlog.Notifier {
	s.notify.once.Do(func() {
		s.notify.n = eventlog.NewNotifier(s.cfg.EventLog.Path, eventlog.NotifyOptions{
			Poll: s.cfg.Follow.Poll, PollInterval: seconds(s.cfg.Follow.PollSeconds), Logger: s.logger,
		})
	})
	return s.notify.n
}

// liveOptions are the handler's live-read settings for mode: under CGI a
// follow ends after follow.cgiSeconds and a wait is at most 55 s.
func liveOptions(cfg config.Config, mode Mode, stores *Stores) handler.LiveOptions {
	o := handler.LiveOptions{
		Wake:         func() <-chan struct{} { return stores.Notifier().Changed() },
		Heartbeat:    seconds(cfg.Follow.HeartbeatSeconds),
		WriteTimeout: seconds(cfg.Follow.WriteTimeoutSeconds),
		PollInterval: seconds(cfg.Follow.PollSeconds),
		MaxWait:      config.MaxWaitServerSeconds * time.Second,
	}
	if cfg.EventLog.Postgres != nil {
		// The notifier watches the log's files; on PostgreSQL a follower
		// looks at the head every follow.pollSeconds instead, which sees
		// appends made through any node.
		o.Wake = nil
	}
	if mode == CGI {
		o.Budget = seconds(cfg.Follow.CGISeconds)
		o.MaxWait = config.MaxWaitCGISeconds * time.Second
		// nginx runs CGI programs through fcgiwrap, whose libfcgi holds
		// output until 8 KiB are buffered: push each event through.
		if strings.HasPrefix(os.Getenv("SERVER_SOFTWARE"), "nginx") {
			o.FlushPadding = fcgiwrapBuffer
		}
	}
	return o
}

// fcgiwrapBuffer is the size of the output buffer of libfcgi, which
// fcgiwrap writes a CGI program's output through without flushing it.
const fcgiwrapBuffer = 8 << 10

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
