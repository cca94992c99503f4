package event

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"apie/sum"

	"github.com/gowebpki/jcs"
)

// runePool holds the characters most likely to trip a JSON encoder.
var runePool = []rune{
	'a', 'Z', '0', ' ', '"', '\\', '/', '<', '>', '&', '\'',
	0x00, 0x01, '\b', '\t', '\n', 0x0b, '\f', '\r', 0x1f, 0x7f, 0x80, 0x85, 0x9f,
	'é', 'ß', '€', 0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0xe000, 0xfb33,
	'😀', '😂', 0x10ffff, 0x10000,
}

func randString(r *rand.Rand, max int) string {
	var b strings.Builder
	for n := r.IntN(max + 1); n > 0; n-- {
		b.WriteRune(runePool[r.IntN(len(runePool))])
	}
	return b.String()
}

var numberPool = []float64{0, 1, -1, 0.1, 1e21, 1e-7, 1.5, -2.25e-300, 9007199254740992, 123456789, 5e-324, 1.7976931348623157e308}

// randValue returns a random JSON value (as encoding/json reads them).
func randValue(r *rand.Rand, depth int) any {
	k := r.IntN(7)
	if depth > 3 {
		k %= 4
	}
	switch k {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return numberPool[r.IntN(len(numberPool))]
	case 3:
		return randString(r, 8)
	case 4, 5:
		m := make(map[string]any)
		for n := r.IntN(5); n > 0; n-- {
			m[randString(r, 4)] = randValue(r, depth+1)
		}
		return m
	default:
		var a []any
		for n := r.IntN(5); n > 0; n-- {
			a = append(a, randValue(r, depth+1))
		}
		return a
	}
}

func randEvent(t *testing.T, r *rand.Rand) Event {
	t.Helper()
	raw, err := json.Marshal(randValue(r, 0))
	if err != nil {
		t.Fatal(err)
	}
	body, err := CanonicalBody(raw)
	if err != nil {
		t.Fatalf("CanonicalBody(%s): %v", raw, err)
	}
	d := Draft{EventID: NewUUID(), EventType: randString(r, 12), Body: body}
	var prev sum.Hash
	for i := range prev {
		prev[i] = byte(r.IntN(256))
	}
	at := time.Unix(r.Int64N(4e9), r.Int64N(1e9))
	return Seal(d, r.Uint64N(1<<53)+1, randString(r, 12), at, prev)
}

// referenceRecord encodes e with encoding/json and canonicalises that with
// jcs.Transform: an independent way to the bytes Record must give. Without
// body and hash, it gives the bytes HeaderHash must hash.
func referenceRecord(t *testing.T, e *Event, header bool) []byte {
	t.Helper()
	m := map[string]any{
		"seq":       e.Seq,
		"eventId":   e.EventID,
		"eventType": e.EventType,
		"bodyHash":  e.BodyHash.String(),
		"createdBy": e.CreatedBy,
		"createdAt": e.CreatedAt,
		"prevHash":  e.PrevHash.String(),
	}
	if !header {
		m["body"] = json.RawMessage(e.Body)
		m["hash"] = e.Hash.String()
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jcs.Transform(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRecordMatchesJCS(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		e := randEvent(t, r)
		rec := e.Record()
		if want := referenceRecord(t, &e, false); !bytes.Equal(rec, want) {
			t.Fatalf("event %d: got %q, want %q", i, rec, want)
		}
		if bytes.IndexByte(rec, '\n') >= 0 {
			t.Fatalf("event %d: record holds a raw newline: %q", i, rec)
		}
		if got, want := HeaderHash(&e), sum.Of(referenceRecord(t, &e, true)); got != want {
			t.Fatalf("event %d: HeaderHash got %s, want %s", i, got, want)
		}
		if got, want := e.BodyHash, sum.Of(e.Body); got != want {
			t.Fatalf("event %d: BodyHash got %s, want %s", i, got, want)
		}
		if _, err := VerifyRecord(rec); err != nil {
			t.Fatalf("event %d: VerifyRecord(%q): %v", i, rec, err)
		}
	}
}

func TestRecordHasNoNewline(t *testing.T) {
	e := Seal(Draft{EventID: NewUUID(), EventType: "line\nbreak\r\u2028\u2029", Body: []byte(`"a\nb"`)},
		1, "x\ny", time.Now(), sum.Genesis)
	rec := e.Record()
	if i := bytes.IndexAny(rec, "\n\r"); i >= 0 {
		t.Fatalf("got a raw line break at byte %d of %q", i, rec)
	}
}

func TestSeal(t *testing.T) {
	at := time.Date(2026, 11, 22, 7, 29, 35, 123456789, time.FixedZone("CET", 3600))
	d := Draft{EventID: "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11", EventType: "todo.added", Body: []byte(`{"title":"milk"}`)}
	e := Seal(d, 1, "alice@example.com", at, sum.Genesis)
	checks := []struct{ name, got, want string }{
		{"createdAt", e.CreatedAt, "2026-11-22T06:29:35.123456Z"},
		{"prevHash", e.PrevHash.String(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"bodyHash", e.BodyHash.String(), sum.Of([]byte(`{"title":"milk"}`)).String()},
		{"hash", e.Hash.String(), HeaderHash(&e).String()},
		{"createdBy", e.CreatedBy, "alice@example.com"},
		{"body", string(e.Body), `{"title":"milk"}`},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %q, want %q", c.got, c.want)
			}
		})
	}
	if e.Hash.IsZero() || e.Hash == e.BodyHash {
		t.Fatal("hash not computed")
	}
	// Every member is covered: changing any one changes the hash.
	mutations := map[string]func(*Event){
		"seq":       func(e *Event) { e.Seq++ },
		"eventId":   func(e *Event) { e.EventID = NewUUID() },
		"eventType": func(e *Event) { e.EventType += "x" },
		"bodyHash":  func(e *Event) { e.BodyHash[0] ^= 1 },
		"createdBy": func(e *Event) { e.CreatedBy += "x" },
		"createdAt": func(e *Event) { e.CreatedAt = FormatTime(at.Add(time.Microsecond)) },
		"prevHash":  func(e *Event) { e.PrevHash[31] ^= 1 },
	}
	for name, mutate := range mutations {
		t.Run("covers "+name, func(t *testing.T) {
			m := e
			mutate(&m)
			if HeaderHash(&m) == e.Hash {
				t.Fatalf("changing %s left the hash as it was", name)
			}
		})
	}
	t.Run("body is not in the hash", func(t *testing.T) {
		m := e
		m.Body = []byte("null")
		if HeaderHash(&m) != e.Hash {
			t.Fatal("the body changed the hash; only bodyHash should")
		}
	})
}

func TestSealEmptyBodyIsNull(t *testing.T) {
	e := Seal(Draft{EventID: NewUUID(), EventType: "t"}, 1, "u", time.Now(), sum.Genesis)
	if got := string(e.Body); got != "null" {
		t.Fatalf("got %q, want %q", got, "null")
	}
	if _, err := VerifyRecord(e.Record()); err != nil {
		t.Fatal(err)
	}
}

func TestSealReplacesInvalidUTF8(t *testing.T) {
	e := Seal(Draft{EventID: NewUUID(), EventType: "t", Body: []byte(`1`)}, 1, "bad\xffuser", time.Now(), sum.Genesis)
	if got, want := e.CreatedBy, "bad\uFFFDuser"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	got, err := DecodeRecord(e.Record())
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedBy != e.CreatedBy {
		t.Fatalf("got %q, want %q", got.CreatedBy, e.CreatedBy)
	}
	if _, err := VerifyRecord(e.Record()); err != nil {
		t.Fatal(err)
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 22, 6, 29, 35, 123456789, time.UTC), "2026-11-22T06:29:35.123456Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05.000000Z"},
		{time.Date(2026, 1, 1, 0, 30, 0, 1000, time.FixedZone("", 3600)), "2025-12-31T23:30:00.000001Z"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatTime(tt.in); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if !isRecordTime(FormatTime(tt.in)) {
				t.Fatalf("isRecordTime(%q) is false", tt.want)
			}
		})
	}
}

func TestSameContent(t *testing.T) {
	e := Seal(Draft{EventID: NewUUID(), EventType: "t", Body: []byte(`{"a":1}`)}, 1, "u", time.Now(), sum.Genesis)
	tests := []struct {
		name string
		d    Draft
		want bool
	}{
		{"same", Draft{EventType: "t", Body: []byte(`{"a":1}`)}, true},
		{"other type", Draft{EventType: "u", Body: []byte(`{"a":1}`)}, false},
		{"other body", Draft{EventType: "t", Body: []byte(`{"a":2}`)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameContent(&e, &tt.d); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestQuotedLen(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		s := randString(r, 20)
		if r.IntN(4) == 0 {
			s += "\xff\xc3"
		}
		if got, want := quotedLen(s), len(appendString(nil, s)); got != want {
			t.Fatalf("quotedLen(%q): got %d, want %d", s, got, want)
		}
	}
}
