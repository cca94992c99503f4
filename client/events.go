package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Genesis is the hash before the first event, the SHA-256 of nothing: as
// AppendOptions.IfMatch it means "only if the log is empty".
const Genesis = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// NewEvent is an event to append.
type NewEvent struct {
	// EventID is a UUID; Append makes one when it is empty.
	EventID   string `json:"eventId,omitempty"`
	EventType string `json:"eventType"`
	// Body is any JSON value, kept by value (a nil Body is null).
	Body json.RawMessage `json:"body"`
}

// Event is a stored event, as the server sent it.
type Event struct {
	Seq       uint64          `json:"seq"`
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	Body      json.RawMessage `json:"body"`
	BodyHash  string          `json:"bodyHash"`
	CreatedBy string          `json:"createdBy"`
	CreatedAt string          `json:"createdAt"`
	PrevHash  string          `json:"prevHash"`
	Hash      string          `json:"hash"`
	// Raw is the event's JSON exactly as the server sent it, members this
	// package does not know included: what the hash rule is checked on.
	Raw json.RawMessage `json:"-"`
}

// AppendOptions are an append's preconditions.
type AppendOptions struct {
	// IfMatch, when not empty, appends only if it is the log's head
	// (Genesis: only if the log is empty); else the append fails with a
	// 412 *Error whose Head is the current head.
	IfMatch string
}

// Appended is a successful append's answer.
type Appended struct {
	// Status is 201 when events were appended, 200 when every event of
	// the request was in the log already (a retry) and nothing was.
	Status int
	// Events are the stored events, in the request's order.
	Events []Event
	// Head is the hash of the answer's last event.
	Head string
}

// Append appends events atomically (all or none, consecutive) and returns
// them as stored, durable on the server's disk. Events without an EventID
// get a fresh one (NewEventID) first, so Append can retry safely: after a
// network error or a 5xx it sends the same request again, and the server
// answers events it already holds with the stored ones instead of
// appending them twice. A 4xx is never retried; it is returned as a
// *Error (409 for an eventId stored with other content, 412 for a failed
// IfMatch, 413 over a limit, 400 for malformed input). events is not
// changed.
func (c *Client) Append(ctx context.Context, events []NewEvent, opts AppendOptions) (Appended, error) {
	evs := make([]NewEvent, len(events))
	for i, e := range events {
		if e.EventID == "" {
			e.EventID = NewEventID()
		}
		evs[i] = e
	}
	body, err := json.Marshal(evs)
	if err != nil {
		return Appended{}, fmt.Errorf("apie client: append: encode the events: %w", err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if opts.IfMatch != "" {
		h.Set("If-Match", `"`+strings.Trim(opts.IfMatch, `"`)+`"`)
	}
	a, err := c.send(ctx, request{method: http.MethodPost, ref: "/events", body: body, header: h, retry: true})
	if err != nil {
		return Appended{}, err
	}
	stored, err := decodeArray(a.body)
	if err != nil {
		return Appended{}, fmt.Errorf("apie client: append: %w", err)
	}
	return Appended{Status: a.status, Events: stored, Head: headOf(a.header)}, nil
}

// HeadInfo is the state of the log.
type HeadInfo struct {
	Hash  string // the last event's hash; "" when the log is empty
	Count uint64 // how many events the log holds
}

// Head returns the log's head and length (HEAD /events), retried as
// Append is.
func (c *Client) Head(ctx context.Context) (HeadInfo, error) {
	a, err := c.send(ctx, request{method: http.MethodHead, ref: "/events", retry: true})
	if err != nil {
		return HeadInfo{}, err
	}
	n, err := strconv.ParseUint(a.header.Get("X-Apie-Count"), 10, 64)
	if err != nil {
		return HeadInfo{}, fmt.Errorf("apie client: HEAD /events: X-Apie-Count %q: %w", a.header.Get("X-Apie-Count"), err)
	}
	return HeadInfo{Hash: headOf(a.header), Count: n}, nil
}

// Event returns the event whose hash is hash (GET /events/<hash>); a
// *Error with Status 404 when the log has none. Retried as Append is.
func (c *Client) Event(ctx context.Context, hash string) (Event, error) {
	a, err := c.send(ctx, request{method: http.MethodGet, ref: "/events/" + url.PathEscape(hash), retry: true})
	if err != nil {
		return Event{}, err
	}
	e, err := decodeEvent(a.body)
	if err != nil {
		return Event{}, fmt.Errorf("apie client: GET /events/%s: %w", hash, err)
	}
	return e, nil
}

// EventsReport is what a verification of the log found.
type EventsReport struct {
	Events uint64 `json:"events"` // events checked
	Head   string `json:"head"`   // the last one's hash
}

// VerifyEvents asks the server to recompute every hash and link of the log
// (POST /events/verify). Damage is a *Error with Status 500 whose
// Message names the first bad event. Not retried.
func (c *Client) VerifyEvents(ctx context.Context) (EventsReport, error) {
	var r EventsReport
	return r, c.postJSON(ctx, "/events/verify", &r)
}

// postJSON POSTs an empty body to ref and decodes the answer into v.
func (c *Client) postJSON(ctx context.Context, ref string, v any) error {
	a, err := c.send(ctx, request{method: http.MethodPost, ref: ref})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("apie client: POST %s: decode the answer: %w", ref, err)
	}
	return nil
}

// decodeEvent decodes one event and keeps its bytes in Raw.
func decodeEvent(raw []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return Event{}, fmt.Errorf("decode an event: %w", err)
	}
	if e.Hash == "" {
		return Event{}, fmt.Errorf("decode an event: no hash in %.200q", raw)
	}
	e.Raw = json.RawMessage(strings.TrimSpace(string(raw)))
	return e, nil
}

// decodeArray decodes a JSON array of events.
func decodeArray(body []byte) ([]Event, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, fmt.Errorf("decode the events: %w", err)
	}
	evs := make([]Event, len(raws))
	for i, raw := range raws {
		e, err := decodeEvent(raw)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i+1, err)
		}
		evs[i] = e
	}
	return evs, nil
}
