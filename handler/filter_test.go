package handler

import (
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
