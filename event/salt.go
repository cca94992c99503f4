package event

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"apie/sum"
)

// Salted body hashes and erasure: the parts of the hash rule that let a
// body be erased while the chain still verifies.

// SaltSize is the number of random bytes in a bodySalt.
const SaltSize = 16

// ErasedType is the eventType of the event that records an erasure, its
// tombstone. Its body is {"erased": <hash>, "reason": <text>, "seq": <seq>}.
// Clients cannot append it (ParseAppend refuses the type): only an erase
// does.
const ErasedType = "apie.erased"

// NewSalt returns a fresh bodySalt: SaltSize random bytes as 32 lower-case
// hex digits.
func NewSalt() string {
	var b [SaltSize]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("event: no randomness for a body salt: " + err.Error()) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// BodyHashOf is the hash rule's bodyHash: SHA-256 of
// JCS({"body": body, "salt": salt}) when salt is not "", else SHA-256 of
// the body. body must be canonical JSON and salt lower-case hex (which
// JCS writes as it is).
func BodyHashOf(body []byte, salt string) sum.Hash {
	if salt == "" {
		return sum.Of(body)
	}
	b := make([]byte, 0, len(body)+len(`{"body":,"salt":""}`)+len(salt))
	b = append(b, `{"body":`...)
	b = append(b, body...)
	b = append(b, `,"salt":`...)
	b = appendString(b, salt)
	return sum.Of(append(b, '}'))
}

// Erased reports whether e's body looks erased: it is null, there is no
// bodySalt, and bodyHash is not the hash of null. Only a later
// apie.erased event naming e makes that legitimate; checking that is the
// caller's (a log's Verify).
func (e *Event) Erased() bool {
	return e.BodySalt == "" && bytes.Equal(e.Body, null) && e.BodyHash != sum.Of(null)
}

// Erase returns e with its body erased: body null and no bodySalt, every
// other member (bodyHash and hash included) kept.
func Erase(e Event) Event {
	e.Body = bytes.Clone(null)
	e.BodySalt = ""
	return e
}

// Tombstone is the body of an apie.erased event.
type Tombstone struct {
	Erased sum.Hash // the erased event's hash
	Seq    uint64   // its seq
	Reason string
}

// TombstoneDraft returns the draft of the apie.erased event that records
// the erasure of the event hash at seq. Its eventId is derived from hash
// (TombstoneID), so an erase that is retried finds the tombstone it wrote.
func TombstoneDraft(hash sum.Hash, seq uint64, reason string) Draft {
	b := []byte(`{"erased":"` + hash.String() + `","reason":`)
	b = appendString(b, reason)
	b = append(b, `,"seq":`...)
	b = appendUint(b, seq)
	b = append(b, '}')
	return Draft{EventID: TombstoneID(hash), EventType: ErasedType, Body: b, ClientID: true}
}

// TombstoneID is the eventId of the tombstone of the event hash: a UUID
// (version 8, RFC 9562) made of SHA-256("apie.erased " + hash).
func TombstoneID(hash sum.Hash) string {
	h := sum.Of([]byte(ErasedType + " " + hash.String()))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	s := hex.EncodeToString(h[:16])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// ParseTombstone reads the body of an apie.erased event. ok is false when
// e is not one or its body is not of that form.
func ParseTombstone(e *Event) (t Tombstone, ok bool) {
	if e.EventType != ErasedType {
		return t, false
	}
	var v struct {
		Erased *string
		Seq    *uint64
		Reason *string
	}
	if err := decodeJSON(e.Body, &v); err != nil || v.Erased == nil || v.Seq == nil {
		return t, false
	}
	h, err := sum.Parse(*v.Erased)
	if err != nil || *v.Seq == 0 {
		return t, false
	}
	t = Tombstone{Erased: h, Seq: *v.Seq}
	if v.Reason != nil {
		t.Reason = *v.Reason
	}
	return t, true
}

func appendUint(b []byte, n uint64) []byte { return strconv.AppendUint(b, n, 10) }

func decodeJSON(b []byte, v any) error { return json.Unmarshal(b, v) }
