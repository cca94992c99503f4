package handler

import (
	"net/url"
	"testing"

	"apie/event"
)

func TestEventFilter(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		typ    string
		keep   bool
	}{
		{"no filter keeps all", nil, "x", true},
		{"listed type", []string{"a,b"}, "b", true},
		{"unlisted type", []string{"a,b"}, "c", false},
		{"repeated parameter", []string{"a", "c"}, "c", true},
		{"prefix is not a match", []string{"todo"}, "todo.added", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			types, err := parseEventTypes(tc.values)
			if err != nil {
				t.Fatal(err)
			}
			f := eventFilter{types: types}
			if got := f.keep(&event.Event{EventType: tc.typ}); got != tc.keep {
				t.Errorf("keep(%q) = %v, want %v", tc.typ, got, tc.keep)
			}
			if f.all() != (tc.values == nil) {
				t.Errorf("all() = %v with values %q", f.all(), tc.values)
			}
		})
	}
	for _, bad := range [][]string{{""}, {"a,,b"}, {"a,"}} {
		if _, err := parseEventTypes(bad); err == nil {
			t.Errorf("parseEventTypes(%q): no error", bad)
		}
	}
}

// TestStreamFilter: stream= keeps that stream only; recursive=true adds
// the streams below it, never a sibling that shares the prefix; an event
// outside every stream never matches.
func TestStreamFilter(t *testing.T) {
	cases := []struct {
		query  string
		stream string
		keep   bool
	}{
		{"stream=/orders", "/orders", true},
		{"stream=/orders", "/orders/42", false},
		{"stream=/orders", "", false},
		{"stream=/orders&recursive=true", "/orders", true},
		{"stream=/orders&recursive=true", "/orders/42/lines", true},
		{"stream=/orders&recursive=true", "/orders2", false},
		{"stream=/orders&recursive=true", "/order", false},
		{"stream=/orders&recursive=true", "", false},
		{"stream=/orders/42&recursive=false", "/orders/42", true},
		{"", "/orders", true},
	}
	for _, tc := range cases {
		t.Run(tc.query+" "+tc.stream, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			var f eventFilter
			if err := parseStreamFilter(q, &f); err != nil {
				t.Fatal(err)
			}
			if got := f.keep(&event.Event{Stream: tc.stream}); got != tc.keep {
				t.Errorf("keep(stream %q) = %v, want %v", tc.stream, got, tc.keep)
			}
			if f.all() != (tc.query == "") {
				t.Errorf("all() = %v for %q", f.all(), tc.query)
			}
		})
	}
	for _, bad := range []string{"stream=", "stream=orders", "stream=/a/", "stream=/a&recursive=yes", "recursive=true"} {
		q, _ := url.ParseQuery(bad)
		if err := parseStreamFilter(q, new(eventFilter)); err == nil {
			t.Errorf("parseStreamFilter(%q): no error", bad)
		}
	}
}
