package event

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// InputError is a 400: the request body is not acceptable. Msg says what
// and where, for a person to act on, e.g.
//
//	event 3: body: duplicate key "a" at byte 17
//	invalid UTF-8 at byte 5
//	number 9007199254740993 at byte 9 cannot be kept exactly by a double: send it as a string
//	lone surrogate \ud800 at byte 12
//
// Byte offsets count from 0 and are offsets in the bytes handed to the
// function that failed (for ParseAppend, the whole request body).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// ErrTooLarge (413) is wrapped by errors about limits: an event too large,
// a request too large, a batch too long. Test for it with errors.Is.
var ErrTooLarge = errors.New("too large")

// LimitError is an error about a limit; it wraps ErrTooLarge and its
// message, written for the client, says which limit and by how much.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }
func (e *LimitError) Unwrap() error { return ErrTooLarge }

func tooLarge(format string, args ...any) error {
	return &LimitError{Msg: fmt.Sprintf(format, args...)}
}

// RecordError says what is wrong with a stored record. Member names the
// member at fault ("hash", "bodyHash", "seq"…), or is empty when the fault
// is in the record as a whole (its syntax or canonical form).
type RecordError struct {
	Member string
	Reason string
	erased bool // the fault is an erased body no tombstone was checked for
}

// ErrErasedBody is wrapped by the *RecordError of a record whose body
// looks erased (null, no bodySalt, bodyHash not that of null) when no
// apie.erased event was checked for it.
var ErrErasedBody = errors.New("erased body")

// Unwrap returns ErrErasedBody for an erased body, else nil.
func (e *RecordError) Unwrap() error {
	if e.erased {
		return ErrErasedBody
	}
	return nil
}

func (e *RecordError) Error() string {
	if e.Member == "" {
		return "bad record: " + e.Reason
	}
	return "bad record: member " + strconv.Quote(e.Member) + ": " + e.Reason
}

// prefixed returns err with prefix put before its message when it is an
// InputError or a limit error; other errors are returned unchanged.
func prefixed(prefix string, err error) error {
	var in *InputError
	if errors.As(err, &in) {
		return &InputError{Msg: prefix + in.Msg}
	}
	var le *LimitError
	if errors.As(err, &le) {
		return &LimitError{Msg: prefix + le.Msg}
	}
	return err
}

// maxQuoted bounds how much of a client's text is copied into a message.
const maxQuoted = 40

// quoteText quotes b for an error message, cut to maxQuoted bytes on a rune
// boundary, so a message never carries a megabyte of input or a raw
// control character.
func quoteText(b []byte) string {
	if len(b) <= maxQuoted {
		return strconv.Quote(string(b))
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strconv.Quote(string(b[:n])) + "…"
}

// shortText is quoteText without the quotes, for numbers.
func shortText(b []byte) string {
	if len(b) <= maxQuoted {
		return string(b)
	}
	return string(b[:maxQuoted]) + "…"
}
