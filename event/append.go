package event

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"unicode"
)

// maxEventType is the longest eventType, in bytes of UTF-8.
const maxEventType = 256

// ParseAppend parses an append request body: one event object
// {"eventId"?, "eventType", "body"}, or a JSON array of them (batch is then
// true). It returns the drafts in request order, or an error and no drafts.
//
//   - eventId, if present, must be a UUID string (8-4-4-4-12 hex digits);
//     it is normalised to lower case and ClientID is set. When absent,
//     newID() supplies one and ClientID is false.
//   - eventType must be a non-empty string of at most 256 bytes without
//     control characters.
//   - body is required: any JSON value, validated and canonicalised as by
//     CanonicalBody, nested at most lim.BodyDepth deep.
//
// Malformed input, a body nested deeper than lim.BodyDepth, unknown
// members, an empty array and one eventId twice in a batch are
// *InputError (400), whose message names the event (from 1,
// in a batch), the member and the byte offset in the request. Over a limit
// the error wraps ErrTooLarge (413): the request longer than
// lim.RequestBytes, an event whose canonical size
// {"body":…,"eventId":…,"eventType":…} exceeds lim.EventBytes, more than
// lim.BatchEvents events. A zero field of lim means its DefaultLimits value.
func ParseAppend(body []byte, lim Limits, newID func() string) (drafts []Draft, batch bool, err error) {
	lim = lim.orDefault()
	if int64(len(body)) > lim.RequestBytes {
		return nil, false, tooLarge("request body is %d bytes, over the limit of %d", len(body), lim.RequestBytes)
	}
	if err := checkUTF8(body); err != nil {
		return nil, false, err
	}
	p := &appendParser{s: newScanner(body, true, false), lim: lim, newID: newID}
	switch p.s.peek() {
	case '{':
		d, err := p.event("")
		if err != nil {
			return nil, false, err
		}
		drafts = []Draft{d}
	case '[':
		batch = true
		if drafts, err = p.batch(); err != nil {
			return nil, true, err
		}
	default:
		return nil, false, p.s.unexpected("an event object or an array of them")
	}
	if err := p.s.end(); err != nil {
		return nil, batch, err
	}
	return drafts, batch, nil
}

// orDefault fills zero fields from DefaultLimits.
func (l Limits) orDefault() Limits {
	if l.EventBytes <= 0 {
		l.EventBytes = DefaultLimits.EventBytes
	}
	if l.RequestBytes <= 0 {
		l.RequestBytes = DefaultLimits.RequestBytes
	}
	if l.BatchEvents <= 0 {
		l.BatchEvents = DefaultLimits.BatchEvents
	}
	if l.BodyDepth <= 0 {
		l.BodyDepth = DefaultLimits.BodyDepth
	}
	l.BodyDepth = min(l.BodyDepth, MaxBodyDepth)
	return l
}

type appendParser struct {
	s     *scanner
	lim   Limits
	newID func() string
}

// batch parses the array of events at s.pos.
func (p *appendParser) batch() ([]Draft, error) {
	s := p.s
	s.pos++ // '['
	if s.peek() == ']' {
		return nil, &InputError{Msg: "empty batch: send at least one event"}
	}
	var drafts []Draft
	ids := make(map[string]int) // eventId -> event number
	for n := 1; ; n++ {
		if n > p.lim.BatchEvents {
			return nil, tooLarge("batch of more than %d events", p.lim.BatchEvents)
		}
		prefix := "event " + strconv.Itoa(n) + ": "
		d, err := p.event(prefix)
		if err != nil {
			return nil, err
		}
		if first, dup := ids[d.EventID]; dup {
			return nil, &InputError{Msg: prefix + "eventId " + d.EventID + " is also the eventId of event " + strconv.Itoa(first)}
		}
		ids[d.EventID] = n
		drafts = append(drafts, d)
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return drafts, nil
		default:
			return nil, prefixed(prefix, s.unexpected("',' or ']'"))
		}
	}
}

// event parses one event object at s.pos; prefix begins its messages.
func (p *appendParser) event(prefix string) (Draft, error) {
	s := p.s
	var d Draft
	var haveType, haveBody bool
	if s.peek() != '{' {
		return d, prefixed(prefix, s.unexpected("an event object"))
	}
	err := s.members(func(key []byte, at int) error {
		switch string(key) {
		case "eventId":
			id, err := p.stringMember("eventId")
			if err != nil {
				return err
			}
			if d.EventID, err = normalUUID(id); err != nil {
				return err
			}
			d.ClientID = true
		case "eventType":
			t, err := p.stringMember("eventType")
			if err != nil {
				return err
			}
			if err := checkEventType(t); err != nil {
				return err
			}
			d.EventType, haveType = t, true
		case "stream":
			st, err := p.stringMember("stream")
			if err != nil {
				return err
			}
			if err := CheckStream(st); err != nil {
				return err
			}
			d.Stream = st
		case "expectedVersion":
			v, err := p.expectedVersion()
			if err != nil {
				return err
			}
			d.HasExpected, d.ExpectedVersion = true, v
		case "body":
			b, err := p.body()
			if err != nil {
				return prefixed("body: ", err)
			}
			d.Body, haveBody = b, true
		default:
			return &InputError{Msg: "unknown member " + quoteText(key) + " at byte " + strconv.Itoa(at) +
				": an event has eventId, eventType, body, stream and expectedVersion"}
		}
		return nil
	})
	if err != nil {
		return d, prefixed(prefix, err)
	}
	switch {
	case !haveType:
		return d, &InputError{Msg: prefix + `missing "eventType"`}
	case !haveBody:
		return d, &InputError{Msg: prefix + `missing "body"`}
	case d.HasExpected && d.Stream == "":
		return d, &InputError{Msg: prefix + `expectedVersion needs a "stream": it is the version of that stream`}
	}
	if !d.ClientID {
		d.EventID = p.newID()
	}
	if size := draftSize(&d); size > p.lim.EventBytes {
		what := "event"
		if prefix != "" {
			what = prefix[:len(prefix)-2]
		}
		return d, tooLarge("%s is %d bytes in canonical form, over the limit of %d", what, size, p.lim.EventBytes)
	}
	return d, nil
}

// stringMember reads a member's value, which must be a string.
func (p *appendParser) stringMember(name string) (string, error) {
	s := p.s
	if s.peek() != '"' {
		return "", &InputError{Msg: name + " at byte " + strconv.Itoa(s.pos) + " must be a string"}
	}
	v, err := s.str(true)
	if err != nil {
		return "", err
	}
	return string(v), nil
}

// body checks the body value at s.pos, on its own terms (depth counted
// from the body and held to lim.BodyDepth, canonical form tracked for the
// body alone), and returns its canonical bytes.
func (p *appendParser) body() ([]byte, error) {
	s := p.s
	s.skipWS()
	depth, maxDepth, start := s.depth, s.maxDepth, s.pos
	s.depth, s.maxDepth, s.canon, s.nonCanon = 0, p.lim.BodyDepth, true, -1
	err := s.value()
	canonical := s.nonCanon < 0
	s.depth, s.maxDepth, s.canon = depth, maxDepth, false
	if err != nil {
		return nil, err
	}
	return canonicalize(s.data[start:s.pos], canonical)
}

// draftSize is the length of the draft's JCS encoding,
// {"body":…,"eventId":"…","eventType":"…"}.
func draftSize(d *Draft) int64 {
	n := len(`{"body":,"eventId":,"eventType":}`) + len(d.Body)
	n += quotedLen(d.EventID) + quotedLen(d.EventType) + streamSize(d.Stream)
	return int64(n)
}

// checkEventType enforces the eventType rule: non-empty, at most 256
// bytes, no control characters (the string is already valid UTF-8).
func checkEventType(t string) error {
	switch {
	case t == "":
		return &InputError{Msg: "eventType must not be empty"}
	case len(t) > maxEventType:
		return &InputError{Msg: "eventType is " + strconv.Itoa(len(t)) + " bytes, over the limit of " + strconv.Itoa(maxEventType)}
	case t == ErasedType:
		return &InputError{Msg: "eventType " + ErasedType + " is reserved: only an erase (POST /events/<hash>/erase) appends it"}
	}
	for i, r := range t {
		if unicode.IsControl(r) {
			return &InputError{Msg: fmt.Sprintf("eventType has the control character %U at its byte %d: it must be printable", r, i)}
		}
	}
	return nil
}

// normalUUID checks that id is a UUID in 8-4-4-4-12 hex form and returns
// it in lower case.
func normalUUID(id string) (string, error) {
	bad := &InputError{Msg: "eventId " + quoteText([]byte(id)) + " is not a UUID (want 8-4-4-4-12 hex digits)"}
	if len(id) != 36 {
		return "", bad
	}
	b := []byte(id)
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", bad
			}
			continue
		}
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", bad
		}
	}
	return string(b), nil
}

// NewUUID returns a random (version 4) UUID in lower case, from
// crypto/rand.
func NewUUID() string {
	var u [16]byte
	// crypto/rand.Read never returns an error: it crashes the program
	// instead, as there is no safe way on.
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}
