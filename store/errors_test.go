package store

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestCorruptionError(t *testing.T) {
	cause := &fs.PathError{Op: "read", Path: "/srv/log", Err: errors.New("input/output error")}
	tests := []struct {
		name  string
		err   *CorruptionError
		msg   string
		cause error
	}{
		{"reason", &CorruptionError{Path: "/srv/log", Offset: 7, Seq: 2, Reason: "bad"},
			"corrupt store: /srv/log at offset 7 (seq 2): bad", nil},
		{"cause", &CorruptionError{Path: "/srv/log", Offset: -1, Err: cause},
			"corrupt store: /srv/log: read /srv/log: input/output error", cause},
		{"both", &CorruptionError{Path: "/srv/seq.idx", Offset: 8, Seq: 1, Reason: "short entry", Err: cause},
			"corrupt store: /srv/seq.idx at offset 8 (seq 1): short entry: read /srv/log: input/output error", cause},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("append: %w", tt.err)
			if got := tt.err.Error(); got != tt.msg {
				t.Errorf("Error: got %q, want %q", got, tt.msg)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Error("errors.Is(err, ErrCorrupt) is false")
			}
			if errors.Is(err, ErrNotFound) {
				t.Error("errors.Is(err, ErrNotFound) is true")
			}
			if got := errors.Unwrap(tt.err); got != tt.cause {
				t.Errorf("Unwrap: got %v, want %v", got, tt.cause)
			}
			var pe *fs.PathError
			if got := errors.As(err, &pe); got != (tt.cause != nil) {
				t.Errorf("errors.As(err, *fs.PathError): got %v, want %v", got, tt.cause != nil)
			}
		})
	}
}
