package handler

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"apie/auth"
	"apie/event"
	"apie/store"
	"apie/sum"
)

// clientError is an error whose message is written for the client.
type clientError struct {
	status int
	msg    string
}

func (e *clientError) Error() string { return e.msg }

func badRequest(msg string) error { return &clientError{http.StatusBadRequest, msg} }

var (
	errRoute        = &clientError{http.StatusNotFound, "no such route"}
	errNoBlob       = &clientError{http.StatusNotFound, "no blob here: a blob is at /storage/<its 64-hex-digit hash>"}
	errLengthNeeded = &clientError{http.StatusLengthRequired, "a request body needs a Content-Length header"}
)

type errorJSON struct {
	Status       string `json:"status"`
	ErrorMessage string `json:"errorMessage"`
	Seq          uint64 `json:"seq,omitempty"`
	// A stream's expectedVersion failed: the stream and its version.
	Stream         string  `json:"stream,omitempty"`
	CurrentVersion *uint64 `json:"currentVersion,omitempty"`
}

func errorBody(msg string) errorJSON { return errorJSON{Status: "error", ErrorMessage: msg} }

// unavailableSeconds is how long a client is told to wait (Retry-After)
// when a store's server cannot be reached.
const unavailableSeconds = 2

// throttleSeconds is how long a throttled login must wait (Retry-After).
const throttleSeconds = int(auth.ThrottleBackoff / time.Second)

// statusOf maps an error to its HTTP status and the message the client
// sees. Internal errors get a generic message; their detail goes to the log.
func statusOf(err error) (int, string) {
	var ce *clientError
	var ie *event.InputError
	var mbe *http.MaxBytesError
	var pe *store.PreconditionError
	var le *event.LimitError
	var corrupt *store.CorruptionError
	var cpe *store.ConsumerPreconditionError
	var cce *store.ConsumerConflictError
	var sve *store.StreamVersionError
	var cde *store.ConsumerDamagedError
	switch {
	case errors.As(err, &ce):
		return ce.status, ce.msg
	case errors.As(err, &cpe) && !cpe.Exists:
		return http.StatusPreconditionFailed, "precondition failed: there is no consumer " + cpe.Current.Name
	case errors.As(err, &cpe):
		return http.StatusPreconditionFailed, "precondition failed: consumer " + cpe.Current.Name + " is at seq " + uitoa(cpe.Current.Seq) +
			" (its ETag); nothing was changed"
	case errors.As(err, &cce):
		return http.StatusConflict, "consumer " + cce.Current.Name + " is at seq " + uitoa(cce.Current.Seq) +
			`; a consumer moves only forward unless the request says "force": true`
	case errors.Is(err, store.ErrBadConsumerName):
		return http.StatusBadRequest, store.ErrBadConsumerName.Error()
	case errors.As(err, &ie):
		return http.StatusBadRequest, ie.Msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "request body is larger than the configured limit"
	case errors.As(err, &le):
		return http.StatusRequestEntityTooLarge, le.Msg
	case errors.Is(err, event.ErrTooLarge), errors.Is(err, store.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "larger than the configured limit; nothing was stored"
	case errors.As(err, &sve):
		return http.StatusPreconditionFailed, "expectedVersion " + uitoa(sve.Expected) + " is not the version of stream " +
			sve.Stream + ", which is " + uitoa(sve.Current) + "; nothing was stored"
	case errors.As(err, &pe):
		return http.StatusPreconditionFailed, "If-Match does not name the head of the log; the head is " + pe.Head.String()
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "an event with this eventId is already stored with a different eventType or body"
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not found"
	case errors.Is(err, store.ErrNotErasable):
		return http.StatusBadRequest, "this event cannot be erased: it is an apie.erased event, or an event stored without a bodySalt whose body is shorter than null"
	case errors.Is(err, store.ErrHashMismatch):
		return http.StatusBadRequest, "the uploaded bytes do not hash to the name given"
	case errors.Is(err, store.ErrBadName):
		return http.StatusBadRequest, "bad filename: use a plain file name of at most " + strconv.Itoa(store.MaxFilenameBytes) +
			" bytes of valid UTF-8, without control characters or '/'"
	case errors.Is(err, sum.ErrMalformed):
		return http.StatusBadRequest, "malformed hash: want 64 hex digits"
	case errors.Is(err, store.ErrNoSpace):
		return http.StatusInsufficientStorage, "the server's disk is full; nothing was stored"
	case errors.Is(err, auth.ErrThrottled):
		return http.StatusTooManyRequests, "too many failed logins for this user from this address (or for any user from it); wait " + strconv.Itoa(throttleSeconds) + " seconds"
	case errors.Is(err, auth.ErrUnauthorized):
		return http.StatusUnauthorized, "authentication required"
	case errors.As(err, &cde) && cde.Name != "":
		return http.StatusInternalServerError, "consumer " + cde.Name + " is damaged (its stored position cannot be read); " +
			`the admin command "consumer rm ` + cde.Name + `" removes it, then move it again`
	case errors.As(err, &cde):
		return http.StatusInternalServerError, "a consumer whose name is unreadable is damaged; run verify (see the README, Consumers)"
	case errors.As(err, &corrupt) && corrupt.Seq > 0:
		return http.StatusInternalServerError, "the event log is damaged at seq " + uitoa(corrupt.Seq) +
			"; appends are refused until verify passes (see the README, Damage, and the server log)"
	case errors.As(err, &corrupt):
		return http.StatusInternalServerError, "the store is damaged; run verify (see the README, Damage, and the server log)"
	case errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable, "the database or object store is unavailable; retry in " + strconv.Itoa(unavailableSeconds) +
			" seconds. An append answered so may or may not have been stored: retry it with the same eventIds, which is safe" +
			" (an event already stored is returned, not appended twice)"
	case errors.Is(err, store.ErrUnsupported):
		return http.StatusNotImplemented, "this server's backend does not support that yet (see the README, Backends)"
	case errors.Is(err, store.ErrWriteFailed):
		return http.StatusServiceUnavailable, "an earlier write failed; the server refuses appends until restarted"
	}
	if msg, ok := AccessMessage(err); ok {
		return http.StatusInternalServerError, msg
	}
	return http.StatusInternalServerError, "internal error (see the server log)"
}

// AccessMessage returns what a client is told when err says the server
// may not use one of its own files: the web server runs apie as a user
// the files' owner and mode keep out (a host without suEXEC, typically).
// The message says which file and where to read on, never a path: whoever
// set the site up often cannot read the server's error log. ok is false
// for any other error.
func AccessMessage(err error) (msg string, ok bool) {
	if !errors.Is(err, fs.ErrPermission) {
		return "", false
	}
	const fix = ": check the owner and mode of %s (see the README's Permissions section)"
	switch {
	case errors.Is(err, auth.ErrPasswdFile):
		return "the server cannot read its users file" + fmt.Sprintf(fix, "the file and its directory"), true
	case errors.Is(err, auth.ErrTokenKeyFile):
		return "the server cannot read or make its token key" + fmt.Sprintf(fix, "its directory"), true
	}
	return "the server cannot open its data files" + fmt.Sprintf(fix, "its data directory"), true
}

// writeError answers with the JSON error for err and logs internal ones.
// An error about damage also names the first bad seq in the body.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	body := errorBody(msg)
	var corrupt *store.CorruptionError
	if errors.As(err, &corrupt) {
		body.Seq = corrupt.Seq
	}
	var sve *store.StreamVersionError
	if errors.As(err, &sve) {
		cur := sve.Current
		body.Stream, body.CurrentVersion = sve.Stream, &cur
	}
	var pe *store.PreconditionError
	if errors.As(err, &pe) {
		setHeadHeaders(w, pe.Head)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Apie"`)
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(throttleSeconds))
	}
	if errors.Is(err, store.ErrUnavailable) {
		w.Header().Set("Retry-After", strconv.Itoa(unavailableSeconds))
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"status":"error","errorMessage":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// setHeadHeaders names head in ETag and X-Apie-Hash and returns its hex.
// It makes two allocations: the quoted hex (the bare hex is a part of it)
// and the two headers' values.
func setHeadHeaders(w http.ResponseWriter, head sum.Hash) string {
	var b [2 + 2*sum.Size]byte
	b[0], b[len(b)-1] = '"', '"'
	hex.Encode(b[1:len(b)-1], head[:])
	etag := string(b[:])
	bare := etag[1 : len(etag)-1]
	vals := []string{etag, bare}
	hd := w.Header()
	hd["Etag"] = vals[0:1:1] // the canonical form of "ETag"
	hd["X-Apie-Hash"] = vals[1:2:2]
	return bare
}

// jsonContentType is the Content-Type value of JSON answers, shared by
// the appends' hot path rather than allocated per response: net/http
// copies header values, and Set or Add on the key never write into it.
var jsonContentType = []string{"application/json"}
