package handler

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// span is a range of seqs to read, inclusive; empty when first > last.
type span struct {
	first, last uint64
	more        bool // events remain after last (limit cut the range)
	limit       uint64
}

// readEvents serves GET /events: the log or a slice of it, oldest first,
// streamed from disk as a JSON array or NDJSON. consumer=<name> starts
// after that consumer's position (see startAtConsumer).
func (h *Handler) readEvents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := h.startAtConsumer(ctx, r); err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if isLive(r.URL.Query()) {
		h.liveEvents(w, r) // follow.go
		return
	}
	if r.URL.Query().Has("stream") {
		h.readStream(w, r)
		return
	}
	log, err := h.eventLog(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	sp, err := h.resolveSpan(ctx, log, r.URL.Query())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	ndjson := setReadType(w.Header(), r)
	if sp.first > sp.last {
		if !ndjson {
			io.WriteString(w, "[]\n")
		}
		return
	}
	rec, err := log.Record(ctx, sp.last)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	lastEv, err := event.DecodeRecord(rec)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	tag, err := readETag(ctx, log, lastEv.Hash)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	w.Header().Set("ETag", tag)
	if sp.more {
		setNextLink(w.Header(), r, lastEv.Hash.String())
	}
	if noneMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body, err := log.Reader(ctx, sp.first, sp.last)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	defer body.Close()
	// A known length lets net/http send the NDJSON with sendfile rather
	// than chunked through user space. The array adds "[\n", a ',' per
	// separator and "\n]\n": size + count + 3 bytes.
	if sized, ok := body.(interface{ Size() int64 }); ok {
		n := sized.Size()
		if !ndjson {
			n += int64(sp.last-sp.first+1) + 3
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	}
	w.WriteHeader(http.StatusOK)
	if ndjson {
		_, err = io.Copy(w, body)
	} else {
		err = copyAsArray(w, body)
	}
	if err != nil {
		// The status is sent; all that is left is to log and cut the body.
		h.opts.Logger.Warn("read events: response cut short", "err", err)
	}
}

// resolveSpan turns from/to/after/limit into seqs, never scanning the log.
func (h *Handler) resolveSpan(ctx context.Context, log store.EventLog, q url.Values) (span, error) {
	for key := range q {
		switch key {
		case "from", "to", "after", "limit":
		default:
			return span{}, badRequest("unknown query parameter " + strconv.Quote(key) + "; use from, to, after or limit")
		}
	}
	head, err := log.Head(ctx)
	if err != nil {
		return span{}, err
	}
	sp := span{first: 1, last: head.Seq}
	if q.Has("from") && q.Has("after") {
		return span{}, badRequest("use from or after, not both")
	}
	if s, ok, err := seqParam(ctx, log, q, "from"); err != nil {
		return span{}, err
	} else if ok {
		sp.first = s
	}
	if s, ok, err := seqParam(ctx, log, q, "after"); err != nil {
		return span{}, err
	} else if ok {
		sp.first = s + 1
	}
	if s, ok, err := seqParam(ctx, log, q, "to"); err != nil {
		return span{}, err
	} else if ok {
		sp.last = s
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseUint(v, 10, 63)
		if err != nil || n == 0 {
			return span{}, badRequest("limit: want a positive whole number")
		}
		sp.limit = n
		if sp.first <= sp.last && sp.last-sp.first+1 > n {
			sp.last = sp.first + n - 1
			sp.more = true
		}
	}
	return sp, nil
}

// seqParam returns the seq of the event whose hash the query parameter
// key names, and false when the parameter is absent or empty. A malformed
// hash is a bad request; one not in the log is the log's ErrNotFound.
func seqParam(ctx context.Context, log store.EventLog, q url.Values, key string) (uint64, bool, error) {
	v := q.Get(key)
	if v == "" {
		return 0, false, nil
	}
	hash, err := parseETag(v)
	if err != nil {
		return 0, false, badRequest(key + ": malformed hash: want 64 hex digits")
	}
	seq, err := log.Lookup(ctx, hash)
	if err != nil {
		return 0, false, err
	}
	return seq, true, nil
}

// notCarried are the read parameters the next page's link does not
// repeat: where the read starts (the link names its own start, after=)
// and credentials, which never belong in a response header.
var notCarried = []string{"from", "after", "access_token"}

// nextPage is the URL of the page after the event last: the request's
// own query, so that every parameter that bounds or filters the read
// (to, limit, and any filter) holds for the next page too, starting after
// last.
func nextPage(r *http.Request, last string) string {
	q := r.URL.Query()
	for _, k := range notCarried {
		q.Del(k)
	}
	q.Set("after", last)
	return basePath(r) + "/events?" + q.Encode()
}

// setNextLink sets the Link header that names the page after the event
// whose hash is last.
func setNextLink(hd http.Header, r *http.Request, last string) {
	hd.Set("Link", "<"+nextPage(r, last)+`>; rel="next"`)
}

// setReadType sets the Content-Type of a read's answer, NDJSON or a JSON
// array as r's Accept header asks, and reports whether it is NDJSON.
func setReadType(hd http.Header, r *http.Request) bool {
	ndjson := wantsNDJSON(r.Header.Get("Accept"))
	if ndjson {
		hd.Set("Content-Type", "application/x-ndjson")
	} else {
		hd.Set("Content-Type", "application/json")
	}
	return ndjson
}

// writeHeadAnswer answers a HEAD on a read with 200 and no body: count
// in X-Apie-Count, ETag and X-Apie-Hash naming last when count is not 0,
// and the Content-Type GET would send for the same Accept.
func writeHeadAnswer(w http.ResponseWriter, r *http.Request, last sum.Hash, count uint64) {
	if count > 0 {
		setHeadHeaders(w, last)
	}
	w.Header().Set("X-Apie-Count", uitoa(count))
	setReadType(w.Header(), r)
	w.WriteHeader(http.StatusOK)
}

// wantsNDJSON reports whether the Accept header asks for NDJSON.
func wantsNDJSON(accept string) bool {
	return strings.Contains(accept, "application/x-ndjson") || strings.Contains(accept, "application/jsonl")
}

// copyAsArray copies NDJSON records from src to w as a JSON array, one
// record a line, without holding more than a buffer in memory.
func copyAsArray(w io.Writer, src io.Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("[\n")
	buf := make([]byte, 64<<10)
	pending := false // a record ended; its separator is not yet written
	for {
		n, err := src.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			if pending {
				bw.WriteString(",\n")
				pending = false
			}
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				bw.Write(chunk)
				break
			}
			bw.Write(chunk[:i])
			pending = true
			chunk = chunk[i+1:]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

func uitoa(n uint64) string { return strconv.FormatUint(n, 10) }
