package handler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"apie/auth"
	"apie/event"
	"apie/store"
	"apie/sum"
)

// appendEvents serves POST/PUT /events: one event or an atomic batch.
func (h *Handler) appendEvents(w http.ResponseWriter, r *http.Request) {
	body, err := h.readBody(w, r, h.opts.Limits.RequestBytes)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	drafts, batch, err := event.ParseAppend(body, h.opts.Limits, h.opts.NewID)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	var ifMatch *sum.Hash
	if v := r.Header.Get("If-Match"); v != "" {
		m, err := parseETag(v)
		if err != nil {
			writeError(w, r, h.opts.Logger, badRequest("If-Match: "+err.Error()))
			return
		}
		ifMatch = &m
	}
	log, err := h.eventLog(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	user, _ := auth.FromContext(r.Context())
	res, err := log.Append(r.Context(), store.AppendRequest{Drafts: drafts, CreatedBy: user.Email, IfMatch: ifMatch})
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	last := setHeadHeaders(w, res.Events[len(res.Events)-1].Hash)
	w.Header()["Content-Type"] = jsonContentType
	status := http.StatusCreated
	if res.Appended == 0 {
		status = http.StatusOK
	} else {
		// Location only on 201: a CGI server takes a Location on a 200
		// for a redirect (RFC 3875 6.2.2) and answers with another page.
		w.Header()["Location"] = []string{basePath(r) + "/events/" + last}
	}
	w.WriteHeader(status)
	if !batch {
		w.Write(res.Records[0])
		w.Write(newline)
		return
	}
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, rec := range res.Records {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.Write(rec)
	}
	b.WriteString("\n]\n")
	w.Write(b.Bytes())
}

// newline ends a one-event answer.
var newline = []byte("\n")

// readBody reads a request body of at most max bytes. Under CGI a body
// without Content-Length is refused (411) before this is reached.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, &clientError{http.StatusRequestEntityTooLarge, "request body is larger than the configured limit"}
	}
	if r.ContentLength > 0 {
		// Its length is known (and the server reads no further): read it
		// into one buffer of that size.
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, badRequest("could not read the request body")
		}
		return body, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest("could not read the request body")
	}
	return body, nil
}

// headEvents serves HEAD /events: the head and the count, no body, with
// the Content-Type GET /events would answer.
func (h *Handler) headEvents(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("stream") {
		h.headStream(w, r)
		return
	}
	log, err := h.eventLog(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	head, err := log.Head(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	writeHeadAnswer(w, r, head.Hash, head.Seq)
}

// getEvent serves GET /events/{hash}.
func (h *Handler) getEvent(w http.ResponseWriter, r *http.Request) {
	hash, err := sum.Parse(r.PathValue("hash"))
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	log, err := h.eventLog(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	seq, err := log.Lookup(r.Context(), hash)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	rec, err := log.Record(r.Context(), seq)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	tag, err := readETag(r.Context(), log, hash)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	// An event's body can be erased: a cache must revalidate (the ETag
	// changes with every erase), never keep it as immutable.
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "private, no-cache")
	if noneMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(append(rec, '\n'))
	}
}

// verifyEvents serves POST /events/verify.
func (h *Handler) verifyEvents(w http.ResponseWriter, r *http.Request) {
	log, err := h.eventLog(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	rep, err := log.Verify(r.Context(), true)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	head := sum.Genesis
	if rep.Events > 0 {
		head = rep.Head
	}
	out := map[string]any{"status": "ok", "events": rep.Events, "head": head.String(), "erased": rep.Erased}
	checked, damaged, err := h.verifyConsumers(r.Context(), log)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if checked < 0 {
		writeJSON(w, http.StatusOK, out)
		return
	}
	out["consumers"] = checked
	if len(damaged) == 0 {
		writeJSON(w, http.StatusOK, out)
		return
	}
	list := make([]damagedConsumerJSON, len(damaged))
	names := make([]string, 0, len(damaged))
	for i, d := range damaged {
		list[i] = damagedConsumerJSON{Name: d.Name, Reason: d.Reason}
		if d.Name != "" {
			list[i].Fix = "consumer rm " + d.Name
			names = append(names, d.Name)
		} else {
			names = append(names, "(a consumer whose name is unreadable)")
		}
		h.opts.Logger.Error("verify: consumer damaged", "consumer", d.Name, "reason", d.Reason)
	}
	out["status"] = "error"
	out["errorMessage"] = "the event log is intact, but " + uitoa(uint64(len(damaged))) + " consumer(s) are damaged: " +
		strings.Join(names, ", ") + `; the admin command "consumer rm NAME" removes each (then move it again)`
	out["damagedConsumers"] = list
	writeJSON(w, http.StatusInternalServerError, out)
}

// damagedConsumerJSON is one damaged consumer in POST /events/verify's
// answer: its name, what is wrong, and the admin command that removes it.
type damagedConsumerJSON struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	Fix    string `json:"fix,omitempty"`
}

// verifyConsumers checks the consumer store, when the handler keeps one
// that can check itself, against log; checked is -1 when there is none.
func (h *Handler) verifyConsumers(ctx context.Context, log store.EventLog) (checked int, damaged []store.ConsumerDamage, err error) {
	if h.opts.OpenConsumers == nil {
		return -1, nil, nil
	}
	cs, err := h.consumerStore(ctx)
	if err != nil {
		return 0, nil, err
	}
	v, ok := cs.(store.ConsumerVerifier)
	if !ok {
		return -1, nil, nil
	}
	return v.VerifyConsumers(ctx, log.Lookup)
}

// parseETag reads an entity tag naming a hash: quotes and a weak prefix
// are optional.
func parseETag(v string) (sum.Hash, error) {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
	return sum.Parse(v)
}

// etagMatches reports whether an If-None-Match header names h (or is *).
func etagMatches(header string, h sum.Hash) bool {
	if header == "" {
		return false
	}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" {
			return true
		}
		if got, err := parseETag(part); err == nil && got == h {
			return true
		}
	}
	return false
}
