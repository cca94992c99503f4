package event

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"

	"apie/sum"
)

// The members of a stored record, as bits for telling which are present.
const (
	hasSeq = 1 << iota
	hasEventID
	hasEventType
	hasBody
	hasBodyHash
	hasCreatedBy
	hasCreatedAt
	hasPrevHash
	hasHash
	hasAll = 1<<iota - 1
)

var memberNames = [...]string{"seq", "eventId", "eventType", "body", "bodyHash", "createdBy", "createdAt", "prevHash", "hash"}

// span is a member of a record: rec[key:end] is `"key":value`, and
// rec[value:end] its value.
type span struct{ key, value, end int }

// recordParts is what decoding finds in a record besides the Event.
type recordParts struct {
	members []span
	body    span
	hash    span
	salt    span // the bodySalt member; zero when there is none
}

// DecodeRecord parses a stored record (one line of the log, without its
// newline) strictly: a JSON object holding the nine members (and bodySalt,
// 32 lower-case hex digits, where the event has one), each of its
// type (seq a positive integer; hashes 64 lower-case hex digits; eventId a
// lower-case UUID; createdAt as FormatTime writes it; body any JSON value),
// no member twice, nothing after it. Members it does not know (added by a
// later version) are skipped. It does not recompute hashes and does not
// check that the record is canonical: VerifyRecord does. Event.Body is a
// copy: it does not share memory with rec. Errors are *RecordError.
func DecodeRecord(rec []byte) (Event, error) {
	e, _, err := decodeRecord(rec, false)
	return e, err
}

// VerifyRecord decodes rec as DecodeRecord does and checks it against the
// hash rule, generically so that members added later are covered too: the
// record must be canonical JSON (RFC 8785), bodyHash must be the hash of
// the body (salted with bodySalt when there is one, see BodyHashOf), and
// hash the SHA-256 of the record without its "hash", "body" and "bodySalt"
// members. The *RecordError names the member that is wrong. A body that
// looks erased (null, no bodySalt, bodyHash not that of null) fails with a
// *RecordError that wraps ErrErasedBody: only the caller can tell whether
// a later apie.erased event names it (see VerifyErasable). The chain
// (prevHash against the event before) is the caller's to check.
func VerifyRecord(rec []byte) (Event, error) {
	e, erased, err := VerifyErasable(rec)
	if err == nil && erased {
		err = &RecordError{Member: "body", Reason: "is null and does not match bodyHash " + e.BodyHash.String() +
			": erased, but no apie.erased event was checked", erased: true}
	}
	return e, err
}

// VerifyErasable is VerifyRecord for a caller that checks erasures
// itself: a body that looks erased (Event.Erased) is not an error, and
// erased reports it. The caller must then find a later apie.erased event
// naming the event, or the record is damage.
func VerifyErasable(rec []byte) (e Event, erased bool, err error) {
	e, parts, err := decodeRecord(rec, true)
	if err != nil {
		return e, false, err
	}
	body := rec[parts.body.value:parts.body.end]
	if got := BodyHashOf(body, e.BodySalt); got != e.BodyHash {
		if !e.Erased() {
			return e, false, &RecordError{Member: "bodyHash", Reason: "is " + e.BodyHash.String() + " but the body hashes to " + got.String()}
		}
		erased = true
	}
	e, err = verifyHeader(rec, parts, e)
	return e, erased, err
}

// verifyHeader checks the hash member of rec.
func verifyHeader(rec []byte, parts recordParts, e Event) (Event, error) {
	if got := sum.Of(headerOf(rec, parts)); got != e.Hash {
		return e, &RecordError{Member: "hash", Reason: "is " + e.Hash.String() + " but the record hashes to " + got.String()}
	}
	return e, nil
}

// headerOf returns a canonical record without its "body" and "hash"
// members. Dropping members from a canonical object leaves it canonical,
// so these are the bytes the hash rule takes the hash of.
func headerOf(rec []byte, parts recordParts) []byte {
	h := make([]byte, 0, len(rec))
	h = append(h, '{')
	for _, m := range parts.members {
		if m == parts.body || m == parts.hash || (parts.salt.end > 0 && m == parts.salt) {
			continue
		}
		if len(h) > 1 {
			h = append(h, ',')
		}
		h = append(h, rec[m.key:m.end]...)
	}
	return append(h, '}')
}

// decodeRecord parses rec. With verify set it also checks that rec is
// canonical and strictly valid (no duplicate keys at any depth) and
// returns the members' spans.
func decodeRecord(rec []byte, verify bool) (Event, recordParts, error) {
	var e Event
	var parts recordParts
	if err := checkUTF8(rec); err != nil {
		return e, parts, &RecordError{Reason: err.Error()}
	}
	s := newScanner(rec, verify, verify)
	s.maxDepth = maxDepth + 1 // the record's object, then the body's depth
	var seen int
	err := s.members(func(key []byte, at int) error {
		s.skipWS()
		m := span{key: at, value: s.pos}
		if err := decodeMember(s, &e, &parts, &seen, key); err != nil {
			return err
		}
		m.end = s.pos
		if verify {
			parts.members = append(parts.members, m)
			switch string(key) {
			case "hash":
				parts.hash = m
			case "bodySalt":
				parts.salt = m
			}
		}
		if string(key) == "body" {
			parts.body = m
			e.Body = bytes.Clone(rec[m.value:m.end])
		}
		return nil
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		var re *RecordError
		if errors.As(err, &re) {
			return e, parts, re
		}
		return e, parts, &RecordError{Reason: err.Error()}
	}
	if seen != hasAll {
		for i, name := range memberNames {
			if seen&(1<<i) == 0 {
				return e, parts, &RecordError{Member: name, Reason: "missing"}
			}
		}
	}
	if (e.Stream == "") != (e.StreamSeq == 0) {
		return e, parts, &RecordError{Member: "streamSeq", Reason: "stream and streamSeq must come together"}
	}
	if verify && s.nonCanon >= 0 {
		return e, parts, &RecordError{Reason: "not canonical JSON (RFC 8785) at byte " + strconv.Itoa(s.nonCanon)}
	}
	return e, parts, nil
}

// decodeMember reads the value of the member named key into e, or skips
// it if the member is not one of the nine.
func decodeMember(s *scanner, e *Event, parts *recordParts, seen *int, key []byte) error {
	for i, name := range memberNames {
		if string(key) == name {
			if *seen&(1<<i) != 0 {
				return &RecordError{Member: name, Reason: "appears twice"}
			}
			break
		}
	}
	var err error
	switch string(key) {
	case "seq":
		*seen |= hasSeq
		e.Seq, err = recordSeq(s)
	case "eventId":
		*seen |= hasEventID
		if e.EventID, err = recordString(s, "eventId"); err == nil && !isLowerUUID(e.EventID) {
			err = &RecordError{Member: "eventId", Reason: "not a lower-case UUID"}
		}
	case "eventType":
		*seen |= hasEventType
		e.EventType, err = recordString(s, "eventType")
	case "createdBy":
		*seen |= hasCreatedBy
		e.CreatedBy, err = recordString(s, "createdBy")
	case "createdAt":
		*seen |= hasCreatedAt
		if e.CreatedAt, err = recordString(s, "createdAt"); err == nil && !isRecordTime(e.CreatedAt) {
			err = &RecordError{Member: "createdAt", Reason: "not of the form 2006-01-02T15:04:05.000000Z"}
		}
	case "bodyHash":
		*seen |= hasBodyHash
		e.BodyHash, err = recordHash(s, "bodyHash")
	case "prevHash":
		*seen |= hasPrevHash
		e.PrevHash, err = recordHash(s, "prevHash")
	case "hash":
		*seen |= hasHash
		e.Hash, err = recordHash(s, "hash")
	case "body":
		*seen |= hasBody
		err = s.value()
	case "bodySalt":
		if e.BodySalt, err = recordString(s, "bodySalt"); err == nil && (len(e.BodySalt) != 2*SaltSize || !isLowerHex([]byte(e.BodySalt))) {
			err = &RecordError{Member: "bodySalt", Reason: "not 32 lower-case hex digits"}
		}
	case "stream":
		if e.Stream, err = recordString(s, "stream"); err == nil && CheckStream(e.Stream) != nil {
			err = &RecordError{Member: "stream", Reason: "not a valid stream name"}
		}
	case "streamSeq":
		if e.StreamSeq, err = recordSeq(s); err != nil {
			err = &RecordError{Member: "streamSeq", Reason: "not a positive integer up to 2^53"}
		}
	default:
		err = s.value()
	}
	return err
}

func recordString(s *scanner, name string) (string, error) {
	if s.peek() != '"' {
		return "", &RecordError{Member: name, Reason: "not a string"}
	}
	v, err := s.str(true)
	return string(v), err
}

func recordHash(s *scanner, name string) (sum.Hash, error) {
	if s.peek() != '"' {
		return sum.Hash{}, &RecordError{Member: name, Reason: "not a string"}
	}
	v, err := s.str(false)
	if err != nil {
		return sum.Hash{}, err
	}
	var h sum.Hash
	if len(v) != 2*sum.Size || !isLowerHex(v) {
		return h, &RecordError{Member: name, Reason: "not 64 lower-case hex digits"}
	}
	if _, err := hex.Decode(h[:], v); err != nil {
		return h, &RecordError{Member: name, Reason: "not 64 lower-case hex digits"}
	}
	return h, nil
}

func recordSeq(s *scanner) (uint64, error) {
	bad := &RecordError{Member: "seq", Reason: "not a positive integer up to 2^53"}
	if c := s.peek(); c < '1' || c > '9' {
		return 0, bad
	}
	lit, err := s.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(lit), 10, 64)
	if err != nil || n > exact53 {
		return 0, bad
	}
	return n, nil
}

func isLowerHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// isLowerUUID reports whether id is 8-4-4-4-12 lower-case hex digits.
func isLowerUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// isRecordTime reports whether t has the shape FormatTime gives:
// dddd-dd-ddTdd:dd:dd.ddddddZ.
func isRecordTime(t string) bool {
	const shape = "0000-00-00T00:00:00.000000Z"
	if len(t) != len(shape) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if shape[i] == '0' {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		} else if t[i] != shape[i] {
			return false
		}
	}
	return true
}
