package handler

import (
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
	types []string // eventType=a,b: keep only these types; nil = all
}

// all reports whether the filter keeps every event.
func (f eventFilter) all() bool { return f.types == nil }

// keep reports whether ev passes the filter.
func (f eventFilter) keep(ev *event.Event) bool {
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
