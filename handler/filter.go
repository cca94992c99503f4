package handler

import (
	"net/url"
	"strings"

	"apie/event"
)

// maxEventTypes bounds the types one eventType= parameter may list.
const maxEventTypes = 64

// eventFilter is what a read keeps of the events in its range: a
// predicate over one stored event. The zero filter keeps every event and
// lets a read copy records without decoding them. Each read parameter
// that narrows the events (eventType today) is one field; keep reports
// whether an event passes them all.
type eventFilter struct {
	types     []string // eventType=a,b: keep only these types; nil = all
	stream    string   // stream=/orders: keep only that stream's events; "" = all
	recursive bool     // recursive=true: and those of the streams below it
}

// all reports whether the filter keeps every event.
func (f eventFilter) all() bool { return f.types == nil && f.stream == "" }

// keep reports whether ev passes the filter.
func (f eventFilter) keep(ev *event.Event) bool {
	if f.stream != "" && !f.inStream(ev.Stream) {
		return false
	}
	if f.types != nil {
		found := false
		for _, t := range f.types {
			if t == ev.EventType {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// inStream reports whether an event of stream name is in the filter's
// stream: that stream itself or, with recursive, one below it (the
// store's rule: /orders holds /orders/42, never /orders2).
func (f eventFilter) inStream(name string) bool {
	if f.recursive {
		return event.InStream(name, f.stream)
	}
	return name == f.stream
}

// parseStreamFilter reads stream= and recursive= into f.
func parseStreamFilter(q url.Values, f *eventFilter) error {
	switch q.Get("recursive") {
	case "", "false":
	case "true":
		f.recursive = true
	default:
		return badRequest("recursive: want true or false")
	}
	if !q.Has("stream") {
		if f.recursive {
			return badRequest("recursive goes with stream")
		}
		return nil
	}
	f.stream = q.Get("stream")
	return event.CheckStream(f.stream)
}

// parseEventTypes reads eventType=a,b (the parameter may also repeat).
func parseEventTypes(values []string) ([]string, error) {
	var types []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if t == "" {
				return nil, badRequest("eventType: empty type in the list; use eventType=a,b")
			}
			if len(t) > 256 {
				return nil, badRequest("eventType: a type is at most 256 bytes")
			}
			types = append(types, t)
		}
	}
	if len(types) > maxEventTypes {
		return nil, badRequest("eventType: at most 64 types")
	}
	return types, nil
}
