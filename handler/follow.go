package handler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// liveEvents serves GET /events with follow=true or wait=N.
func (h *Handler) liveEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log, err := h.eventLog(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	lr, err := h.parseLive(ctx, log, r)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if !lr.follow {
		h.longPoll(w, r, log, lr)
		return
	}
	h.follow(w, r, log, lr)
}

// errSlowFollower cuts off a follower that takes no bytes for WriteTimeout.
var errSlowFollower = errors.New("follower took no bytes within the write timeout")

// follow sends the stored events after lr.cursor that pass lr.filter,
// then caughtUp, then each new one as it is committed, with heartbeats
// when quiet, until the client leaves, the budget is spent or the server
// stops (then an end line naming where to resume).
//
// No event is lost or sent twice between replay and live: the read keeps
// one cursor, a seq; it reads committed records cursor+1..head and moves
// the cursor to head, and it takes the wake channel before each head
// read, so a commit after that read closes the channel it waits on.
func (h *Handler) follow(w http.ResponseWriter, r *http.Request, log store.EventLog, lr liveRead) {
	ctx := r.Context()
	hd := w.Header()
	if lr.sse {
		hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	} else {
		hd.Set("Content-Type", "application/x-ndjson")
	}
	hd.Set("Cache-Control", "no-cache, no-transform")
	hd.Set("X-Accel-Buffering", "no")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	out := &liveWriter{w: w, rc: http.NewResponseController(w), timeout: h.live.WriteTimeout, share: &h.share}
	f := framer{buf: out.buf, sse: lr.sse}
	out.pad = f.padding(h.live.FlushPadding)
	f.start()
	if err := out.flush(); err != nil {
		h.followerGone(r, err)
		return
	}
	var budget <-chan time.Time
	if h.live.Budget > 0 {
		t := time.NewTimer(h.live.Budget)
		defer t.Stop()
		budget = t.C
	}
	stop := h.stopping.get()
	quiet := time.NewTimer(h.live.Heartbeat)
	defer quiet.Stop()
	caughtUp := false
	for {
		wake, release := h.wakeChan()
		shared := h.live.Wake != nil // one channel for every follower: share what is read under it
		head, err := h.share.headFor(ctx, log, wake, shared)
		if err == nil && head.Seq > lr.cursor {
			err = h.sendRange(ctx, f, out, log, &lr, head, wake, shared)
		}
		if err == nil && !caughtUp {
			caughtUp = true
			at, count := head.Hash, head.Seq
			if lr.streams != nil {
				at, count, err = streamMark(ctx, log, &lr, head.Seq)
			}
			if err == nil {
				f.caughtUp(at, count)
			}
		}
		if err == nil {
			err = out.flush()
		}
		if err != nil {
			release()
			h.followerGone(r, err)
			return
		}
		if out.sent {
			out.sent = false
			resetTimer(quiet, h.live.Heartbeat)
		}
		ended := false
		select {
		case <-wake:
			release()
			continue
		case <-quiet.C:
			f.heartbeat()
			quiet.Reset(h.live.Heartbeat)
		case <-budget:
			f.end(lr.at)
			ended = true
		case <-stop:
			f.end(lr.at)
			ended = true
		case <-ctx.Done():
			release()
			return
		}
		release()
		if err := out.flush(); err != nil {
			h.followerGone(r, err)
			return
		}
		if ended {
			return
		}
	}
}

// sendRange frames the records after lr.cursor up to head that pass the
// filter, and moves the cursor to head. Every event, as NDJSON: the
// stored bytes as they are, shared with the other followers woken by the
// same change (under wake), or for a long replay copied in large chunks
// straight to the response, as a plain read sends them.
func (h *Handler) sendRange(ctx context.Context, f framer, out *liveWriter, log store.EventLog, lr *liveRead, head store.Head, wake <-chan struct{}, shared bool) error {
	decode := f.sse || !lr.filter.all()
	// send frames one record unless the filter drops it; ev is nil when
	// the record was not decoded (the frame then needs no hash).
	send := func(rec []byte, ev *event.Event) error {
		if ev != nil && !lr.filter.keep(ev) {
			return nil
		}
		var hash sum.Hash
		if ev != nil {
			hash = ev.Hash
		}
		f.event(rec, hash)
		return nil
	}
	if lr.streams != nil {
		// A stream: its events through the stream index, decoded only
		// for SSE's id or an eventType filter.
		decode = f.sse || lr.filter.types != nil
		err := eachStreamRecord(ctx, log, lr, head.Seq, decode, func(_ uint64, rec []byte, ev *event.Event) error {
			return send(rec, ev)
		})
		if err != nil {
			return fmt.Errorf("follow: %w", err)
		}
		lr.cursor, lr.at = head.Seq, head.Hash
		return nil
	}
	if !decode {
		recs, rd, err := h.share.records(ctx, log, wake, shared, lr.cursor+1, head.Seq)
		if err != nil {
			return fmt.Errorf("follow: %w", err)
		}
		if rd != nil {
			err = h.copyReplay(out, rd)
		} else {
			_, err = f.buf().Write(recs)
		}
		if err != nil {
			return fmt.Errorf("follow: records %d..%d: %w", lr.cursor+1, head.Seq, err)
		}
		lr.cursor, lr.at = head.Seq, head.Hash
		return nil
	}
	err := eachRecord(ctx, log, lr.cursor+1, head.Seq, decode, send)
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	lr.cursor, lr.at = head.Seq, head.Hash
	return nil
}

// copyReplay sends what out holds, then rd's records in replayBufSize
// writes straight to the response, and closes rd.
func (h *Handler) copyReplay(out *liveWriter, rd io.ReadCloser) error {
	defer rd.Close()
	if out.bw != nil {
		if err := out.bw.Flush(); err != nil {
			return err
		}
	}
	buf := h.share.copyBuf()
	defer h.share.putCopyBuf(buf)
	_, err := io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{rd}, *buf)
	return err
}

// followerGone logs why a follow ended early: a client that stopped
// reading is cut off with a warning, one that left is not news.
func (h *Handler) followerGone(r *http.Request, err error) {
	switch {
	case errors.Is(err, errSlowFollower):
		h.opts.Logger.Warn("follower cut off: it took no bytes within the write timeout",
			"path", r.URL.Path, "timeout", h.live.WriteTimeout)
	case r.Context().Err() != nil:
	default:
		h.opts.Logger.Warn("follow ended", "path", r.URL.Path, "err", err)
	}
}

// resetTimer restarts t for d, draining a tick it may hold.
func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

// liveWriter writes a follow response with a deadline on every write, so
// a client that stops reading fails the write instead of holding the
// follower (and its buffer) for ever.
type liveWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	share   *liveShare
	bw      *bufio.Writer // while there is something to send; nil when idle
	timeout time.Duration
	sent    bool   // bytes went out since the heartbeat timer last restarted
	pad     []byte // written after what a flush sends (LiveOptions.FlushPadding)
}

func (l *liveWriter) Write(p []byte) (int, error) {
	l.deadline()
	n, err := l.w.Write(p)
	if err != nil {
		return n, l.classify(err)
	}
	l.sent = true
	return n, nil
}

// flush sends what is buffered now: every event reaches the client as
// soon as it is framed.
func (l *liveWriter) flush() error {
	if l.pad != nil && (l.sent || l.bw != nil && l.bw.Buffered() > 0) {
		l.buf().Write(l.pad)
	}
	if l.bw != nil {
		err := l.bw.Flush()
		l.share.putBuf(l.bw)
		l.bw = nil
		if err != nil {
			return err
		}
	}
	l.deadline()
	if err := l.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return l.classify(err)
	}
	return nil
}

// buf returns the framing buffer, taken from the shared pool when the
// follower starts writing; flush gives it back.
func (l *liveWriter) buf() *bufio.Writer {
	if l.bw == nil {
		l.bw = l.share.buf(l)
	}
	return l.bw
}

func (l *liveWriter) deadline() {
	l.rc.SetWriteDeadline(time.Now().Add(l.timeout)) // ErrNotSupported under CGI: the web server times out
}

func (l *liveWriter) classify(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("%w: %w", errSlowFollower, err)
	}
	return err
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
