package event

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"apie/sum"
)

// timeLayout is createdAt's form: RFC 3339, UTC, exactly six fractional
// digits.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime formats t in UTC as 2006-01-02T15:04:05.000000Z.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// null is the body of an event whose Body is empty.
var null = []byte("null")

// Seal makes the stored event from a draft: it fills every member and
// computes BodyHash and Hash by the hash rule. An empty d.Body stands for
// null. Text that is not valid UTF-8 (createdBy comes from the passwd
// file) has each bad byte replaced by U+FFFD, so the event is exactly what
// its record says.
func Seal(d Draft, seq uint64, createdBy string, createdAt time.Time, prev sum.Hash) Event {
	body := d.Body
	if len(body) == 0 {
		body = null
	}
	salt := strings.ToValidUTF8(d.BodySalt, "\uFFFD")
	e := Event{
		Seq:       seq,
		EventID:   strings.ToValidUTF8(d.EventID, "\uFFFD"),
		EventType: strings.ToValidUTF8(d.EventType, "\uFFFD"),
		Body:      body,
		BodySalt:  salt,
		BodyHash:  BodyHashOf(body, salt),
		CreatedBy: strings.ToValidUTF8(createdBy, "\uFFFD"),
		CreatedAt: FormatTime(createdAt),
		PrevHash:  prev,
	}
	if d.Stream != "" {
		e.Stream, e.StreamSeq = d.Stream, d.StreamSeq
	}
	e.Hash = HeaderHash(&e)
	return e
}

// HeaderHash computes the hash of e by the hash rule: the SHA-256 of the
// JCS encoding of e without its "hash", "body" and "bodySalt" members. It reads
// BodyHash as it is; it does not hash the body.
func HeaderHash(e *Event) sum.Hash {
	return sum.Of(e.appendHeader(make([]byte, 0, e.sizeHint())))
}

// Record returns the JCS (RFC 8785) encoding of the whole event, all nine
// members (ten with bodySalt), without a trailing newline. It never contains a raw newline.
// Body is written as it is (it must already be canonical JSON; empty means
// null); any bad UTF-8 in the strings becomes U+FFFD. Seq is written as an
// integer, which JCS agrees with up to 2^53.
func (e *Event) Record() []byte {
	b := make([]byte, 0, e.sizeHint()+len(e.Body)+len(`{"body":,"hash":"","bodySalt":""`)+2*sum.Size+len(e.BodySalt))
	return e.appendJCS(b, true)
}

// appendHeader appends the JCS encoding of e without "body", "bodySalt" and "hash":
// the bytes its hash is taken over.
func (e *Event) appendHeader(b []byte) []byte { return e.appendJCS(b, false) }

// appendJCS appends the JCS encoding of e, its members in JCS order:
// the whole record when whole is true, else the header (without "body",
// "bodySalt" and "hash"). Record and the hash rule write the members
// they share here, so the two cannot disagree on them.
func (e *Event) appendJCS(b []byte, whole bool) []byte {
	b = append(b, '{')
	if whole {
		b = append(b, `"body":`...)
		if len(e.Body) == 0 {
			b = append(b, null...)
		} else {
			b = append(b, e.Body...)
		}
		b = append(b, ',')
	}
	b = append(b, `"bodyHash":"`...)
	b = appendHex(b, e.BodyHash)
	b = append(b, '"')
	if whole && e.BodySalt != "" {
		b = append(b, `,"bodySalt":`...)
		b = appendString(b, e.BodySalt)
	}
	b = append(b, `,"createdAt":`...)
	b = appendString(b, e.CreatedAt)
	b = append(b, `,"createdBy":`...)
	b = appendString(b, e.CreatedBy)
	b = append(b, `,"eventId":`...)
	b = appendString(b, e.EventID)
	b = append(b, `,"eventType":`...)
	b = appendString(b, e.EventType)
	if whole {
		b = append(b, `,"hash":"`...)
		b = appendHex(b, e.Hash)
		b = append(b, '"')
	}
	b = append(b, `,"prevHash":"`...)
	b = appendHex(b, e.PrevHash)
	b = append(b, `","seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = e.appendStream(b)
	return append(b, '}')
}

// sizeHint is the length of e's header encoding when its strings need no
// escapes: member names and punctuation, two hashes, a seq of up to 20
// digits, and the strings.
func (e *Event) sizeHint() int {
	const fixed = len(`{"bodyHash":"","createdAt":"","createdBy":"","eventId":"","eventType":"","prevHash":"","seq":}`)
	return fixed + 2*2*sum.Size + 20 + len(e.CreatedAt) + len(e.CreatedBy) + len(e.EventID) + len(e.EventType) + streamSize(e.Stream)
}

// appendStream appends the stream members, last in JCS order ("seq" <
// "stream" < "streamSeq"), for an event of a stream; nothing otherwise.
func (e *Event) appendStream(b []byte) []byte {
	if e.Stream == "" {
		return b
	}
	b = append(b, `,"stream":`...)
	b = appendString(b, e.Stream)
	b = append(b, `,"streamSeq":`...)
	return strconv.AppendUint(b, e.StreamSeq, 10)
}

// SameContent reports whether a stored event and a draft carry the same
// eventType and body, so that the draft is a retry of the event. It
// compares bodies, never bodyHash (which is salted). An erased event (see
// Erased) is the same content as any draft of its eventType: its body is
// gone, and a retry of it must answer with it, never append it again.
func SameContent(e *Event, d *Draft) bool {
	if e.EventType != d.EventType {
		return false
	}
	body := d.Body
	if len(body) == 0 {
		body = null
	}
	return bytes.Equal(e.Body, body) || e.Erased()
}

func appendHex(b []byte, h sum.Hash) []byte {
	n := len(b)
	b = append(b, make([]byte, 2*sum.Size)...)
	hex.Encode(b[n:], h[:])
	return b
}

// appendString appends s as a JCS string: '"' and '\' escaped, the short
// escapes \b \f \n \r \t, other control characters as \u00xx, everything
// else (U+007F, U+2028, "<>&", emoji) as it is. A byte that is not valid
// UTF-8 is written as U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// quotedLen is len(appendString(nil, s)).
func quotedLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				n += len("\uFFFD")
			} else {
				n += size
			}
			i += size
			continue
		case c == '"', c == '\\', c == '\b', c == '\f', c == '\n', c == '\r', c == '\t':
			n += 2
		case c < 0x20:
			n += 6
		default:
			n++
		}
		i++
	}
	return n
}
