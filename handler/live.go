package handler

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"apie/store"
	"apie/sum"
)

// LiveOptions configure live reads: follow=true and wait=N on GET /events.
type LiveOptions struct {
	// Wake returns a channel closed at the next possible change of the
	// log (eventlog.Notifier.Changed). A caller takes it before reading
	// the head. nil: followers look every PollInterval.
	Wake func() <-chan struct{}
	// Heartbeat is the quiet time after which a follower is sent a
	// heartbeat; default 15 s.
	Heartbeat time.Duration
	// Budget ends every follow after this long with an end line (CGI:
	// follow.cgiSeconds); 0 = no end but the client's or a shutdown.
	Budget time.Duration
	// MaxWait is the largest wait=N accepted (larger is 400); default
	// 300 s.
	MaxWait time.Duration
	// WriteTimeout cuts off a follower that takes no bytes for this long,
	// so a client that stops reading holds no memory; default 30 s.
	WriteTimeout time.Duration
	// FlushPadding, when > 0, follows every flush that sent something
	// with this many bytes of padding (an SSE comment; for NDJSON a
	// heartbeat line with trailing spaces): for a gateway that holds
	// output in a buffer of its own until it fills (fcgiwrap's libfcgi,
	// 8 KiB).
	FlushPadding int
	// PollInterval is how often a follower looks at the head when Wake is
	// nil; default 1 s.
	PollInterval time.Duration
}

// Defaults of LiveOptions.
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultMaxWait      = 300 * time.Second
	DefaultWriteTimeout = 30 * time.Second
)

func (o LiveOptions) withDefaults() LiveOptions {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	return o
}

// stopSignal is closed when the server stops: every follower ends with
// its end line and returns. The zero value is ready.
type stopSignal struct {
	once sync.Once
	ch   chan struct{}
	mu   sync.Mutex
}

func (s *stopSignal) get() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *stopSignal) stop() { s.once.Do(func() { close(s.get()) }) }

// StopFollowers ends every follow response now with its end line, and
// every long-poll with what it has (an empty answer); later ones end at
// once. apie-serve calls it when it stops (http.Server.RegisterOnShutdown),
// so open follows do not hold the stop up.
func (h *Handler) StopFollowers() { h.stopping.stop() }

// wakeChan is the channel a live read waits on for the next change.
func (h *Handler) wakeChan() (<-chan struct{}, func()) {
	if h.live.Wake != nil {
		return h.live.Wake(), func() {}
	}
	t := time.NewTimer(h.live.PollInterval)
	ch := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-t.C:
			close(ch)
		case <-done:
			t.Stop()
		}
	}()
	return ch, func() { close(done) }
}

// liveRead is a parsed live read: where it starts, what it keeps, how
// it is sent.
type liveRead struct {
	follow bool
	wait   time.Duration
	limit  uint64 // wait only; 0 = defaultWaitLimit
	filter eventFilter
	// streams is the log's stream index when the read names a stream:
	// the read goes through it, at a cost in proportion to the stream's
	// events, never by scanning the log.
	streams store.Streams
	cursor  uint64   // the last seq already passed: the read starts after it
	at      sum.Hash // that event's hash (Genesis for 0)
	sse     bool
}

// isLive reports whether a GET /events asks for a live read.
func isLive(q url.Values) bool { return q.Has("follow") || q.Has("wait") }

// liveParams are the query parameters a live read takes.
// (consumer= is turned into after= before this, see startAtConsumer.)
var liveParams = map[string]bool{
	"follow": true, "wait": true, "eventType": true, "from": true, "after": true, "limit": true,
	"stream": true, "recursive": true,
}

// parseLive reads a live read's parameters; the start is resolved
// against the log (a hash not in it: 404).
func (h *Handler) parseLive(ctx context.Context, log store.EventLog, r *http.Request) (liveRead, error) {
	q := r.URL.Query()
	var lr liveRead
	for key := range q {
		if !liveParams[key] {
			return lr, badRequest("unknown query parameter " + strconv.Quote(key) + " for a live read; use follow or wait, stream, recursive, eventType, from, after or consumer, limit")
		}
	}
	switch v := q.Get("follow"); {
	case !q.Has("follow"), v == "false":
	case v == "true" || v == "1":
		lr.follow = true
	default:
		return lr, badRequest("follow: want true or false")
	}
	if q.Has("wait") {
		if lr.follow {
			return lr, badRequest("use follow or wait, not both")
		}
		n, err := strconv.ParseUint(q.Get("wait"), 10, 32)
		max := uint64(h.live.MaxWait / time.Second)
		if err != nil || n > max {
			return lr, badRequest("wait: want whole seconds from 0 to " + uitoa(max))
		}
		lr.wait = time.Duration(n) * time.Second
	}
	if v := q.Get("limit"); v != "" {
		if lr.follow {
			return lr, badRequest("limit does not go with follow")
		}
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil || n == 0 {
			return lr, badRequest("limit: want a positive whole number")
		}
		lr.limit = n
	}
	types, err := parseEventTypes(q["eventType"])
	if err != nil {
		return lr, err
	}
	lr.filter.types = types
	if err := parseStreamFilter(q, &lr.filter); err != nil {
		return lr, err
	}
	if lr.filter.stream != "" {
		streams, ok := log.(store.Streams)
		if !ok {
			return lr, fmt.Errorf("follow a stream: %w", store.ErrUnsupported)
		}
		lr.streams = streams
	}
	lr.sse = lr.follow && wantsSSE(r.Header.Get("Accept"))
	if err := h.liveStart(ctx, log, r, q, &lr); err != nil {
		return lr, err
	}
	return lr, nil
}

// liveStart sets where the read starts: Last-Event-ID (a reconnecting
// EventSource) over after= over from=; after=head is the current head;
// the empty log's hash (Genesis) is "before the first event".
func (h *Handler) liveStart(ctx context.Context, log store.EventLog, r *http.Request, q url.Values, lr *liveRead) error {
	if q.Has("from") && q.Has("after") {
		return badRequest("use from or after, not both")
	}
	key, v := "", ""
	switch {
	case r.Header.Get("Last-Event-ID") != "":
		key, v = "Last-Event-ID", r.Header.Get("Last-Event-ID")
	case q.Has("after"):
		key, v = "after", q.Get("after")
	case q.Has("from"):
		key, v = "from", q.Get("from")
	default:
		lr.at = sum.Genesis
		return nil
	}
	if v == "head" && key != "from" {
		head, err := log.Head(ctx)
		if err != nil {
			return err
		}
		lr.cursor, lr.at = head.Seq, head.Hash
		return nil
	}
	hash, err := parseETag(v)
	if err != nil {
		return badRequest(key + ": malformed hash: want 64 hex digits or head")
	}
	if hash == sum.Genesis && key != "from" {
		lr.at = sum.Genesis
		return nil
	}
	seq, err := log.Lookup(ctx, hash)
	if err != nil {
		return err
	}
	if key == "from" {
		seq--
		if seq == 0 {
			lr.at = sum.Genesis
		} else if lr.at, err = hashOf(ctx, log, seq); err != nil {
			return err
		}
		lr.cursor = seq
		return nil
	}
	lr.cursor, lr.at = seq, hash
	return nil
}
