package handler

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Streams: GET and HEAD /events?stream=… and GET /streams.

// streamReadBudget is how many bytes of records a read by stream keeps
// from its walk over the index (which reads them to confirm each event)
// to send without reading them again.
const streamReadBudget = 4 << 20

// streamParams are the parameters of a read by stream.
type streamParams struct {
	q     store.StreamQuery
	limit uint64 // 0 = none
}

// parseStreamRead reads stream, recursive, from, after, to and limit.
// Hashes name positions in the log: the read holds the stream's events
// after (or from) that one, up to to.
func (h *Handler) parseStreamRead(ctx context.Context, log store.EventLog, q url.Values) (streamParams, error) {
	for key := range q {
		switch key {
		case "stream", "recursive", "from", "to", "after", "limit":
		default:
			return streamParams{}, badRequest("unknown query parameter " + strconv.Quote(key) +
				"; a read by stream takes stream, recursive, from, to, after or limit")
		}
	}
	var p streamParams
	p.q.Stream = q.Get("stream")
	if err := event.CheckStream(p.q.Stream); err != nil {
		return p, err
	}
	switch q.Get("recursive") {
	case "", "false":
	case "true":
		p.q.Recursive = true
	default:
		return p, badRequest("recursive: want true or false")
	}
	if q.Has("from") && q.Has("after") {
		return p, badRequest("use from or after, not both")
	}
	if s, ok, err := seqParam(ctx, log, q, "from"); err != nil {
		return p, err
	} else if ok {
		p.q.After = s - 1
	}
	if s, ok, err := seqParam(ctx, log, q, "after"); err != nil {
		return p, err
	} else if ok {
		p.q.After = s
	}
	if s, ok, err := seqParam(ctx, log, q, "to"); err != nil {
		return p, err
	} else if ok {
		p.q.Last = s
		if s <= p.q.After { // nothing can follow; 0 would mean "to the head"
			p.q.Last, p.q.Limit = 0, -1
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil || n == 0 {
			return p, badRequest("limit: want a positive whole number")
		}
		p.limit = n
		if p.q.Limit == 0 {
			p.q.Limit = int(n) + 1 // one more, to know whether a next page exists
		}
	}
	return p, nil
}

// readStream serves GET /events?stream=…: the stream's events (and with
// recursive=true those of the streams below it) in log order, as
// GET /events sends the log: array or NDJSON, ETag, 304, and a next-page
// Link that keeps stream and recursive.
func (h *Handler) readStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log, streams, err := h.streamLog(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	p, err := h.parseStreamRead(ctx, log, r.URL.Query())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	var seqs []uint64
	var recs [][]byte
	if p.q.Limit >= 0 {
		if seqs, recs, err = streams.StreamRead(ctx, p.q, streamReadBudget); err != nil {
			writeError(w, r, h.opts.Logger, err)
			return
		}
	}
	more := p.limit > 0 && uint64(len(seqs)) > p.limit
	if more {
		seqs = seqs[:p.limit]
		recs = recs[:min(len(recs), len(seqs))]
	}
	ndjson := setReadType(w.Header(), r)
	if len(seqs) == 0 {
		if !ndjson {
			w.Write([]byte("[]\n"))
		}
		return
	}
	var lastRec []byte
	if len(recs) == len(seqs) {
		lastRec = recs[len(recs)-1]
	} else if lastRec, err = log.Record(ctx, seqs[len(seqs)-1]); err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	last, err := event.DecodeRecord(lastRec)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	w.Header().Set("ETag", `"`+last.Hash.String()+`"`)
	if more {
		setNextLink(w.Header(), r, last.Hash.String())
	}
	if etagMatches(r.Header.Get("If-None-Match"), last.Hash) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	// The records the read kept (up to streamReadBudget bytes) are sent as
	// they are; the rest are read one at a time as they are sent: memory
	// holds the seqs (8 bytes an event) and at most the budget of records.
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	if !ndjson {
		bw.WriteString("[\n")
	}
	for i, seq := range seqs {
		rec := lastRec
		if i < len(recs) {
			rec = recs[i]
		} else if i < len(seqs)-1 {
			if rec, err = log.Record(ctx, seq); err != nil {
				// The status is sent; all that is left is to log and cut the body.
				h.opts.Logger.Warn("read stream: response cut short", "err", err)
				return
			}
		}
		if !ndjson && i > 0 {
			bw.WriteString(",\n")
		}
		bw.Write(rec)
		if ndjson {
			bw.WriteByte('\n')
		}
	}
	if !ndjson {
		bw.WriteString("\n]\n")
	}
	if err := bw.Flush(); err != nil {
		h.opts.Logger.Warn("read stream: response cut short", "err", err)
	}
}

// headStream serves HEAD /events?stream=…: X-Apie-Count is the stream's
// version, ETag and X-Apie-Hash name its last event (none for a stream
// without events, which is not an error).
func (h *Handler) headStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	for key := range q {
		if key != "stream" {
			writeError(w, r, h.opts.Logger, badRequest("unknown query parameter "+strconv.Quote(key)+"; HEAD by stream takes stream"))
			return
		}
	}
	name := q.Get("stream")
	if err := event.CheckStream(name); err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	_, streams, err := h.streamLog(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	info, err := streams.StreamHead(ctx, name)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	writeHeadAnswer(w, r, info.Last, info.Version)
}

// streamJSON is one stream in GET /streams.
type streamJSON struct {
	Stream  string `json:"stream"`
	Version uint64 `json:"version"`
	First   string `json:"first"`
	Last    string `json:"last"`
}

// listStreams serves GET /streams?prefix=…&after=…&limit=N: the streams,
// by name, paged with a next Link that starts after the page's last name.
func (h *Handler) listStreams(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	for key := range q {
		switch key {
		case "prefix", "after", "limit":
		default:
			writeError(w, r, h.opts.Logger, badRequest("unknown query parameter "+strconv.Quote(key)+"; use prefix, after or limit"))
			return
		}
	}
	prefix := q.Get("prefix")
	if prefix != "" {
		if err := event.CheckStream(prefix); err != nil {
			writeError(w, r, h.opts.Logger, err)
			return
		}
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil || n == 0 {
			writeError(w, r, h.opts.Logger, badRequest("limit: want a positive whole number"))
			return
		}
		limit = int(n)
	}
	_, streams, err := h.streamLog(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	ask := 0
	if limit > 0 {
		ask = limit + 1
	}
	infos, err := streams.ListStreams(ctx, prefix, q.Get("after"), ask)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if limit > 0 && len(infos) > limit {
		infos = infos[:limit]
		next := url.Values{}
		if prefix != "" {
			next.Set("prefix", prefix)
		}
		next.Set("after", infos[len(infos)-1].Stream)
		next.Set("limit", strconv.Itoa(limit))
		w.Header().Set("Link", "<"+basePath(r)+"/streams?"+next.Encode()+`>; rel="next"`)
	}
	out := make([]streamJSON, len(infos))
	for i, s := range infos {
		out[i] = streamJSON{Stream: s.Stream, Version: s.Version, First: sum.Hash(s.First).String(), Last: sum.Hash(s.Last).String()}
	}
	writeJSON(w, http.StatusOK, out)
}

// streamLog opens the event log and its streams; a backend without
// streams is store.ErrUnsupported.
func (h *Handler) streamLog(ctx context.Context) (store.EventLog, store.Streams, error) {
	log, err := h.eventLog(ctx)
	if err != nil {
		return nil, nil, err
	}
	streams, ok := log.(store.Streams)
	if !ok {
		return nil, nil, fmt.Errorf("read streams: %w", store.ErrUnsupported)
	}
	return log, streams, nil
}
