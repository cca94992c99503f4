package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"apie/auth"
	"apie/store"
	"apie/sum"
)

// maxReasonBytes bounds an erase's reason.
const maxReasonBytes = 4096

// eraseRequest is the body of POST /events/{hash}/erase.
type eraseRequest struct {
	Reason *string `json:"reason"`
}

// isAdmin reports whether the caller is one of the configured admins.
func (h *Handler) isAdmin(r *http.Request) bool {
	u, ok := auth.FromContext(r.Context())
	return ok && u.Email != "" && slices.Contains(h.opts.Admins, u.Email)
}

// eraseEvent serves POST /events/{hash}/erase: an admin erases an
// event's body; the answer is the apie.erased event (200, the same one
// when the event was erased before).
func (h *Handler) eraseEvent(w http.ResponseWriter, r *http.Request) {
	hash, err := sum.Parse(r.PathValue("hash"))
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	if !h.isAdmin(r) {
		writeError(w, r, h.opts.Logger, &clientError{http.StatusForbidden, "only an admin (apie.json \"admins\") may erase an event"})
		return
	}
	body, err := h.readBody(w, r, 64<<10)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	reason, err := parseEraseRequest(body)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	log, err := h.eventLog(r.Context())
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	eraser, ok := log.(store.Eraser)
	if !ok {
		writeError(w, r, h.opts.Logger, &clientError{http.StatusNotImplemented, "this event log cannot erase"})
		return
	}
	u, _ := auth.FromContext(r.Context())
	res, err := eraser.Erase(r.Context(), hash, reason, u.Email)
	if err != nil {
		writeError(w, r, h.opts.Logger, err)
		return
	}
	rec := res.Records[0]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/events/"+res.Events[0].Hash.String())
	w.Header().Set("X-Apie-Hash", res.Events[0].Hash.String())
	w.WriteHeader(http.StatusOK)
	w.Write(append(rec, '\n'))
}

// parseEraseRequest reads {"reason": "…"} strictly: valid UTF-8, one
// object, no other member, reason a non-empty string of at most 4096
// bytes.
func parseEraseRequest(body []byte) (string, error) {
	if !utf8.Valid(body) {
		return "", badRequest("body is not valid UTF-8")
	}
	var req eraseRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		return "", badRequest(`body must be one JSON object {"reason": "…"} and nothing else`)
	}
	switch {
	case req.Reason == nil || strings.TrimSpace(*req.Reason) == "":
		return "", badRequest(`"reason" is required: say why the body is erased (it is kept in the apie.erased event)`)
	case len(*req.Reason) > maxReasonBytes:
		return "", badRequest(`"reason" is over ` + strconv.Itoa(maxReasonBytes) + " bytes")
	}
	return *req.Reason, nil
}

// readETag is the validator of an answer that holds events up to hash: the
// hash itself while the log has never erased a body, else the hash and
// the erase generation ("<hash>-e<N>"), so that an answer cached before
// an erase is never taken for one after it.
func readETag(ctx context.Context, log store.EventLog, hash sum.Hash) (string, error) {
	eraser, ok := log.(store.Eraser)
	if !ok {
		return `"` + hash.String() + `"`, nil
	}
	n, err := eraser.Erasures(ctx)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return `"` + hash.String() + `"`, nil
	}
	return `"` + hash.String() + "-e" + strconv.FormatUint(n, 10) + `"`, nil
}

// noneMatch reports whether an If-None-Match header names tag (or is *).
func noneMatch(header, tag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == "*" || part == tag {
			return true
		}
	}
	return false
}
