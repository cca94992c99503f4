package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"apie/auth"
	"apie/store"
	"apie/sum"
)

// maxConsumerBody bounds a PUT /consumers/<name> body: the largest valid
// one is under 100 bytes.
const maxConsumerBody = 4 << 10

var (
	errNoConsumers  = &clientError{http.StatusNotFound, "this server keeps no consumers"}
	errMoveShape    = badRequest(`want a JSON object {"after": "<64-hex event hash>" or null, "force"?: true or false}`)
	errNoSuchAfter  = &clientError{http.StatusNotFound, "after: no event with that hash is in the log"}
	errTwoStarts    = badRequest("use consumer or from/after (or Last-Event-ID), not both")
	errNoneMatchBad = badRequest(`If-None-Match: only * is understood here (create the consumer only if it does not exist)`)
	errNoConsumer   = &clientError{http.StatusNotFound, "no consumer with that name"}
)

// noConsumer turns a store's ErrNotFound for a consumer into the answer
// that says so.
func noConsumer(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNoConsumer
	}
	return err
}

// consumerRoutes adds the consumer routes to m.
func (h *Handler) consumerRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /consumers", h.listConsumers)
	m.HandleFunc("GET /consumers/{name}", h.getConsumer)
	m.HandleFunc("PUT /consumers/{name}", h.moveConsumer)
	m.HandleFunc("DELETE /consumers/{name}", h.deleteConsumer)
	m.HandleFunc("/consumers", methodNotAllowed("GET, HEAD"))
	m.HandleFunc("/consumers/{name}", methodNotAllowed("GET, HEAD, PUT, DELETE"))
}

// consumerJSON is a consumer as the API shows it. After is null before
// the first event; Lag counts the events after the position.
type consumerJSON struct {
	Name      string    `json:"name"`
	After     *sum.Hash `json:"after"`
	Seq       uint64    `json:"seq"`
	Lag       uint64    `json:"lag"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

func toConsumerJSON(c store.Consumer, head store.Head) consumerJSON {
	j := consumerJSON{Name: c.Name, Seq: c.Seq, UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy}
	if c.Seq > 0 {
		h := c.After
		j.After = &h
	}
	if head.Seq > c.Seq {
		j.Lag = head.Seq - c.Seq
	}
	return j
}

// consumerStore opens the consumer store once.
func (h *Handler) consumerStore(ctx context.Context) (store.ConsumerStore, error) {
	if h.opts.OpenConsumers == nil {
		return nil, errNoConsumers
	}
	h.consOnce.Do(func() { h.cons, h.consErr = h.opts.OpenConsumers(ctx) })
	return h.cons, h.consErr
}

// consumerStores opens the log (for positions and lag) and the consumers.
func (h *Handler) consumerStores(ctx context.Context) (store.EventLog, store.ConsumerStore, error) {
	cs, err := h.consumerStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	log, err := h.eventLog(ctx)
	if err != nil {
		return nil, nil, err
	}
	return log, cs, nil
}

// listConsumers serves GET /consumers: every consumer, ordered by name,
// as a JSON array.
func (h *Handler) listConsumers(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log, cs, err := h.consumerStores(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	list, err := cs.List(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	head, err := log.Head(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	out := make([]consumerJSON, len(list))
	for i, c := range list {
		out[i] = toConsumerJSON(c, head)
	}
	writeJSON(w, http.StatusOK, out)
}

// getConsumer serves GET /consumers/{name}, with the position's hash as
// its ETag (the empty string's SHA-256 before the first event), ready for
// an If-Match.
func (h *Handler) getConsumer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	log, cs, err := h.consumerStores(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	c, err := cs.Get(ctx, r.PathValue("name"))
	if err != nil {
		writeError(w, r, h.opts.Logger, noConsumer(err))
		return
	}
	head, err := log.Head(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	w.Header().Set("ETag", `"`+c.After.String()+`"`)
	writeJSON(w, http.StatusOK, toConsumerJSON(c, head))
}

// moveConsumer serves PUT /consumers/{name}: create (201) or move (200).
func (h *Handler) moveConsumer(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, err := h.parseMoveRequest(w, r)
	if err != nil {
		writeConsumerError(w, r, h, err)
		return
	}
	log, cs, err := h.consumerStores(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if m.After != sum.Genesis {
		seq, err := log.Lookup(ctx, m.After)
		if errors.Is(err, store.ErrNotFound) {
			err = errNoSuchAfter
		}
		if err != nil {
			writeError(w, r, h.opts.Logger, err)
			return
		}
		m.Seq = seq
	}
	c, created, err := cs.Move(ctx, m)
	if err != nil {
		writeConsumerError(w, r, h, err)
		return
	}
	head, err := log.Head(ctx)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("ETag", `"`+c.After.String()+`"`)
	writeJSON(w, status, toConsumerJSON(c, head))
}

// deleteConsumer serves DELETE /consumers/{name}.
func (h *Handler) deleteConsumer(w http.ResponseWriter, r *http.Request) {
	cs, err := h.consumerStore(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if err := cs.Delete(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, r, h.opts.Logger, noConsumer(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// parseMoveRequest reads a move from the request: the name from the path,
// the position and force from the body, the preconditions from If-Match
// and If-None-Match. Seq is left for the caller to resolve.
func (h *Handler) parseMoveRequest(w http.ResponseWriter, r *http.Request) (store.ConsumerMove, error) {
	name := r.PathValue("name")
	if err := store.CheckConsumerName(name); err != nil {
		return store.ConsumerMove{}, err
	}
	body, err := h.readBody(w, r, maxConsumerBody)
	if err != nil {
		return store.ConsumerMove{}, err
	}
	after, force, err := ParseMove(body)
	if err != nil {
		return store.ConsumerMove{}, err
	}
	user, _ := auth.FromContext(r.Context())
	m := store.ConsumerMove{Name: name, After: after, Force: force, UpdatedBy: user.Email}
	if v := r.Header.Get("If-Match"); v != "" {
		hash, err := parseETag(v)
		if err != nil {
			return store.ConsumerMove{}, badRequest(`If-Match: want one quoted hash, the consumer's position ("` + sum.Genesis.String() + `" before the first event)`)
		}
		m.IfMatch = &hash
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		if strings.TrimSpace(v) != "*" {
			return store.ConsumerMove{}, errNoneMatchBad
		}
		m.IfAbsent = true
	}
	return m, nil
}

// ParseMove parses the body of PUT /consumers/<name>:
// {"after": "<hash>" or null, "force"?: bool}. It is strict: one object,
// valid UTF-8, no unknown or repeated members, no trailing data. A null
// after (or the empty string's SHA-256) is sum.Genesis: before the first
// event.
func ParseMove(body []byte) (after sum.Hash, force bool, err error) {
	if !utf8.Valid(body) {
		return sum.Hash{}, false, badRequest("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return sum.Hash{}, false, errMoveShape
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return sum.Hash{}, false, errMoveShape
		}
		key, _ := tok.(string)
		if seen[key] {
			return sum.Hash{}, false, badRequest("member " + quote(key) + " is given twice")
		}
		seen[key] = true
		val, err := dec.Token()
		if err != nil {
			return sum.Hash{}, false, errMoveShape
		}
		switch key {
		case "after":
			switch v := val.(type) {
			case nil:
				after = sum.Genesis
			case string:
				if after, err = sum.Parse(v); err != nil {
					return sum.Hash{}, false, badRequest("after: want an event's hash (64 lowercase hex digits) or null")
				}
			default:
				return sum.Hash{}, false, badRequest("after: want an event's hash (64 lowercase hex digits) or null")
			}
		case "force":
			b, ok := val.(bool)
			if !ok {
				return sum.Hash{}, false, badRequest("force: want true or false")
			}
			force = b
		default:
			return sum.Hash{}, false, badRequest("unknown member " + quote(key) + `; a move takes "after" and "force"`)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return sum.Hash{}, false, errMoveShape
	}
	if _, err := dec.Token(); err != io.EOF {
		return sum.Hash{}, false, badRequest("data after the JSON object")
	}
	if !seen["after"] {
		return sum.Hash{}, false, badRequest(`after: missing; send "after": "<hash>", or null for before the first event`)
	}
	return after, force, nil
}

// quote quotes a member name for a message, cut to a sane length.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// consumerErrorJSON is an error about a consumer's position: the error
// body with the consumer as it is (412, 409).
type consumerErrorJSON struct {
	Status       string    `json:"status"`
	ErrorMessage string    `json:"errorMessage"`
	Name         string    `json:"name"`
	Exists       bool      `json:"exists"`
	After        *sum.Hash `json:"after"`
	Seq          uint64    `json:"seq"`
}

// writeConsumerError answers err like writeError, adding the consumer's
// current position to the body (and its ETag) when err is a failed
// precondition or a refused backward move.
func writeConsumerError(w http.ResponseWriter, r *http.Request, h *Handler, err error) {
	var pe *store.ConsumerPreconditionError
	var ce *store.ConsumerConflictError
	var cur store.Consumer
	exists := true
	switch {
	case errors.As(err, &pe):
		cur, exists = pe.Current, pe.Exists
	case errors.As(err, &ce):
		cur = ce.Current
	default:
		writeError(w, r, h.opts.Logger, err)
		return
	}
	status, msg := statusOf(err)
	body := consumerErrorJSON{Status: "error", ErrorMessage: msg, Name: cur.Name, Exists: exists, Seq: cur.Seq}
	if exists {
		w.Header().Set("ETag", `"`+cur.After.String()+`"`)
		if cur.Seq > 0 {
			a := cur.After
			body.After = &a
		}
	}
	writeJSON(w, status, body)
}

// startAtConsumer makes GET /events?consumer=<name> the read after the
// consumer's position: it replaces the parameter with after=<hash> (or
// nothing, before the first event) in the request's own query, so every
// other read parameter, the next page's Link and any later reading of the
// query see a plain after. An unknown consumer is 404.
func (h *Handler) startAtConsumer(ctx context.Context, r *http.Request) error {
	q := r.URL.Query()
	if !q.Has("consumer") {
		return nil
	}
	if q.Has("from") || q.Has("after") || r.Header.Get("Last-Event-ID") != "" {
		return errTwoStarts
	}
	cs, err := h.consumerStore(ctx)
	if err != nil {
		return err
	}
	c, err := cs.Get(ctx, q.Get("consumer"))
	if err != nil {
		return noConsumer(err)
	}
	q.Del("consumer")
	if c.Seq > 0 {
		q.Set("after", c.After.String())
	}
	r.URL.RawQuery = q.Encode()
	return nil
}
