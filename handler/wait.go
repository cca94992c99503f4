package handler

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"apie/event"
	"apie/store"
)

// Bounds of one long-poll answer: it stops collecting at whichever comes
// first, and links to the rest (Link rel="next").
const (
	defaultWaitLimit = 1000
	maxWaitBytes     = 16 << 20
)

// longPoll serves GET /events?after=…&wait=N: the events after the start
// that pass the filter, as soon as there is at least one, or an empty
// answer after N seconds (or when the server stops).
func (h *Handler) longPoll(w http.ResponseWriter, r *http.Request, log store.EventLog, lr liveRead) {
	ctx := r.Context()
	limit := lr.limit
	if limit == 0 {
		limit = defaultWaitLimit
	}
	deadline := time.NewTimer(lr.wait)
	defer deadline.Stop()
	stop := h.stopping.get()
	for {
		wake, release := h.wakeChan()
		head, err := log.Head(ctx)
		if err != nil {
			release()
			writeError(w, r, h.opts.Logger, err)
			return
		}
		if head.Seq > lr.cursor {
			recs, more, err := h.collect(r, log, &lr, head, limit)
			if err != nil {
				release()
				writeError(w, r, h.opts.Logger, err)
				return
			}
			if len(recs) > 0 {
				release()
				h.writeWaited(w, r, recs, more)
				return
			}
		}
		select {
		case <-wake:
			release()
			continue
		case <-deadline.C:
		case <-stop:
		case <-ctx.Done():
		}
		release()
		h.writeWaited(w, r, nil, false)
		return
	}
}

// errCollected stops collect's scan once the answer is full.
var errCollected = errors.New("collected")

// waited is one event of a long-poll answer.
type waited struct {
	rec  []byte
	hash string
}

// collect gathers up to limit events after lr.cursor up to head that pass
// the filter (at most maxWaitBytes of them), moving the cursor past what
// it looked at; more says events may remain after the last one.
func (h *Handler) collect(r *http.Request, log store.EventLog, lr *liveRead, head store.Head, limit uint64) ([]waited, bool, error) {
	var recs []waited
	var size int
	last := head.Seq
	full := false
	if lr.streams != nil {
		return h.collectStream(r, log, lr, head, limit)
	}
	err := eachRecord(r.Context(), log, lr.cursor+1, head.Seq, true, func(rec []byte, ev *event.Event) error {
		if full {
			return errCollected
		}
		lr.cursor = ev.Seq
		if !lr.filter.keep(ev) {
			return nil
		}
		recs = append(recs, waited{rec: bytes.Clone(rec), hash: ev.Hash.String()})
		size += len(rec)
		if uint64(len(recs)) == limit || size >= maxWaitBytes {
			full = true
		}
		return nil
	})
	if err != nil && !errors.Is(err, errCollected) {
		return nil, false, err
	}
	return recs, full && lr.cursor < last, nil
}

// collectStream is collect for a stream: its events through the stream
// index, moving the cursor to the last one taken, or to head when none is
// left.
func (h *Handler) collectStream(r *http.Request, log store.EventLog, lr *liveRead, head store.Head, limit uint64) ([]waited, bool, error) {
	var recs []waited
	var size int
	var taken uint64 // the seq of the last event looked at
	full, more := false, false
	err := eachStreamRecord(r.Context(), log, lr, head.Seq, true, func(seq uint64, rec []byte, ev *event.Event) error {
		if full {
			more = true
			return errCollected
		}
		taken = seq
		if !lr.filter.keep(ev) {
			return nil
		}
		recs = append(recs, waited{rec: bytes.Clone(rec), hash: ev.Hash.String()})
		size += len(rec)
		full = uint64(len(recs)) == limit || size >= maxWaitBytes
		return nil
	})
	if err != nil && !errors.Is(err, errCollected) {
		return nil, false, err
	}
	if more {
		lr.cursor = taken
	} else {
		lr.cursor = head.Seq
	}
	return recs, more, nil
}

// writeWaited answers a long-poll: an array, or NDJSON if asked for.
func (h *Handler) writeWaited(w http.ResponseWriter, r *http.Request, recs []waited, more bool) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache, no-transform")
	ndjson := setReadType(hd, r)
	if len(recs) > 0 {
		last := recs[len(recs)-1].hash
		hd.Set("ETag", `"`+last+`"`)
		if more {
			setNextLink(hd, r, last)
		}
	}
	var b bytes.Buffer
	if !ndjson {
		b.WriteString("[")
	}
	for i, x := range recs {
		if !ndjson {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.Write(x.rec)
		if ndjson {
			b.WriteString("\n")
		}
	}
	if !ndjson {
		if len(recs) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("]\n")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}
