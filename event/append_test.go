package event

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
)

// counterIDs returns a newID that hands out predictable UUIDs.
func counterIDs() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
}

func TestParseAppendAccepts(t *testing.T) {
	const id = "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11"
	tests := []struct {
		name      string
		in        string
		wantBatch bool
		want      []Draft
	}{
		{"one event", `{"eventType":"todo.added","body":{"title":"milk"}}`, false,
			[]Draft{{EventID: "00000000-0000-4000-8000-000000000001", EventType: "todo.added", Body: []byte(`{"title":"milk"}`)}}},
		{"client id in upper case", `{"eventId":"6F1C2C5E-4B7E-4F0E-9B43-2A1E5D0F6A11","eventType":"t","body":1}`, false,
			[]Draft{{EventID: id, EventType: "t", Body: []byte(`1`), ClientID: true}}},
		{"body canonicalised", " {\n\"body\": {\"b\": 1.0, \"a\": -0}, \"eventType\": \"t\"}\n", false,
			[]Draft{{EventID: "00000000-0000-4000-8000-000000000001", EventType: "t", Body: []byte(`{"a":0,"b":1}`)}}},
		{"body null", `{"eventType":"t","body":null}`, false,
			[]Draft{{EventID: "00000000-0000-4000-8000-000000000001", EventType: "t", Body: []byte(`null`)}}},
		{"eventType unicode and escapes", `{"eventType":"caf\u00e9 ☕ \"x\"","body":[]}`, false,
			[]Draft{{EventID: "00000000-0000-4000-8000-000000000001", EventType: "café ☕ \"x\"", Body: []byte(`[]`)}}},
		{"batch", `[{"eventType":"a","body":1},{"eventId":"` + id + `","eventType":"b","body":"x"}]`, true,
			[]Draft{
				{EventID: "00000000-0000-4000-8000-000000000001", EventType: "a", Body: []byte(`1`)},
				{EventID: id, EventType: "b", Body: []byte(`"x"`), ClientID: true},
			}},
		{"batch of one", `[{"eventType":"a","body":{}}]`, true,
			[]Draft{{EventID: "00000000-0000-4000-8000-000000000001", EventType: "a", Body: []byte(`{}`)}}},
		{"body nested 128 deep inside a batch", `[{"eventType":"a","body":` + strings.Repeat("[", 128) + strings.Repeat("]", 128) + `}]`, true,
			[]Draft{{EventID: "00000000-0000-4000-8000-000000000001", EventType: "a", Body: []byte(strings.Repeat("[", 128) + strings.Repeat("]", 128))}}},
		{"eventType of 256 bytes", `{"eventType":"` + strings.Repeat("é", 128) + `","body":0}`, false,
			[]Draft{{EventID: "00000000-0000-4000-8000-000000000001", EventType: strings.Repeat("é", 128), Body: []byte(`0`)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, batch, err := ParseAppend([]byte(tt.in), DefaultLimits, counterIDs())
			if err != nil {
				t.Fatal(err)
			}
			if batch != tt.wantBatch {
				t.Fatalf("batch: got %v, want %v", batch, tt.wantBatch)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d drafts, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", tt.want[i]); g != w {
					t.Fatalf("draft %d: got %q, want %q", i, g, w)
				}
				if g, w := string(got[i].Body), string(tt.want[i].Body); g != w {
					t.Fatalf("draft %d body: got %q, want %q", i, g, w)
				}
			}
		})
	}
}

func TestParseAppendRefuses(t *testing.T) {
	const id = "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11"
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, `unexpected end of input at byte 0: want an event object or an array of them`},
		{"not an object", `"x"`, `unexpected '"' at byte 0: want an event object or an array of them`},
		{"empty batch", ` [ ] `, `empty batch: send at least one event`},
		{"invalid UTF-8", "{\"ev\xffentType\":\"t\",\"body\":1}", `invalid UTF-8 at byte 4`},
		{"duplicate key in body", `[{"eventType":"a","body":1},{"eventType":"a","body":2},{"eventType":"a","body":{"a":1,"a":2}}]`,
			`event 3: body: duplicate key "a" at byte 86`},
		{"duplicate key in a single body", `{"eventType":"a","body":{"a":1,"a":2}}`, `body: duplicate key "a" at byte 31`},
		{"big number in body", `{"eventType":"a","body":9007199254740993}`,
			`body: number 9007199254740993 at byte 24 cannot be kept exactly by a double: send it as a string`},
		{"lone surrogate in body", `{"eventType":"a","body":"\ud800"}`, `body: lone surrogate \ud800 at byte 25`},
		{"duplicate member", `{"eventType":"a","eventType":"b","body":1}`, `duplicate key "eventType" at byte 17`},
		{"unknown member", `{"eventType":"a","body":1,"seq":3}`, `unknown member "seq" at byte 26: an event has eventId, eventType, body, stream and expectedVersion`},
		{"unknown member in batch", `[{"eventType":"a","body":1},{"eventType":"a","body":1,"extra":{}}]`,
			`event 2: unknown member "extra" at byte 54: an event has eventId, eventType, body, stream and expectedVersion`},
		{"missing eventType", `{"body":1}`, `missing "eventType"`},
		{"missing body", `[{"eventType":"a"}]`, `event 1: missing "body"`},
		{"eventType not a string", `{"eventType":7,"body":1}`, `eventType at byte 13 must be a string`},
		{"eventType empty", `{"eventType":"","body":1}`, `eventType must not be empty`},
		{"eventType too long", `{"eventType":"` + strings.Repeat("x", 257) + `","body":1}`, `eventType is 257 bytes, over the limit of 256`},
		{"eventType with newline", `{"eventType":"a\nb","body":1}`, `eventType has the control character U+000A at its byte 1: it must be printable`},
		{"eventType with C1 control", `{"eventType":"a\u0085","body":1}`, `eventType has the control character U+0085 at its byte 1: it must be printable`},
		{"eventType with DEL", "{\"eventType\":\"a\x7f\",\"body\":1}", `eventType has the control character U+007F at its byte 1: it must be printable`},
		{"eventId not a UUID", `{"eventId":"42","eventType":"a","body":1}`, `eventId "42" is not a UUID (want 8-4-4-4-12 hex digits)`},
		{"eventId with braces", `{"eventId":"{6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a1}","eventType":"a","body":1}`,
			`eventId "{6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a1}" is not a UUID (want 8-4-4-4-12 hex digits)`},
		{"eventId null", `{"eventId":null,"eventType":"a","body":1}`, `eventId at byte 11 must be a string`},
		{"same eventId twice", `[{"eventId":"` + id + `","eventType":"a","body":1},{"eventId":"` + strings.ToUpper(id) + `","eventType":"a","body":1}]`,
			`event 2: eventId ` + id + ` is also the eventId of event 1`},
		{"batch element not an object", `[{"eventType":"a","body":1},2]`, `event 2: unexpected '2' at byte 28: want an event object`},
		{"missing comma in batch", `[{"eventType":"a","body":1} {"eventType":"a","body":1}]`, `event 1: unexpected '{' at byte 28: want ',' or ']'`},
		{"trailing data", `{"eventType":"a","body":1}{}`, `trailing data at byte 26 after the JSON value`},
		{"nested batch", `[[{"eventType":"a","body":1}]]`, `event 1: unexpected '[' at byte 1: want an event object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := ParseAppend([]byte(tt.in), DefaultLimits, counterIDs())
			var in *InputError
			if !errors.As(err, &in) {
				t.Fatalf("got %v, %v; want an *InputError", got, err)
			}
			if got != nil {
				t.Fatalf("got %d drafts with the error, want none", len(got))
			}
			if in.Msg != tt.want {
				t.Fatalf("got %q, want %q", in.Msg, tt.want)
			}
		})
	}
}

func TestParseAppendLimits(t *testing.T) {
	lim := Limits{EventBytes: 100, RequestBytes: 300, BatchEvents: 3}
	ev := func(body string) string { return `{"eventType":"t","body":` + body + `}` }
	// An event of exactly 100 canonical bytes: {"body":"…","eventId":"<36>","eventType":"t"}.
	exact := ev(`"` + strings.Repeat("x", 100-len(`{"body":"","eventId":"","eventType":"t"}`)-36) + `"`)
	tests := []struct {
		name string
		in   string
		want string // "" for success
	}{
		{"event at the limit", exact, ""},
		{"event over the limit", strings.Replace(exact, `"x`, `"xx`, 1), `event is 101 bytes in canonical form, over the limit of 100`},
		{"event under the limit after canonicalisation", ev(`[1e20]`), ""},
		{"event over the limit after canonicalisation", ev(`[1e20,1e20]`), `event is 119 bytes in canonical form, over the limit of 100`},
		{"batch at the limit", `[` + ev("1") + `,` + ev("2") + `,` + ev("3") + `]`, ""},
		{"batch over the limit", `[` + ev("1") + `,` + ev("2") + `,` + ev("3") + `,` + ev("4") + `]`, `batch of more than 3 events`},
		{"event over the limit in a batch", `[` + ev("1") + `,` + strings.Replace(exact, `"x`, `"xx`, 1) + `]`, `event 2 is 101 bytes in canonical form, over the limit of 100`},
		{"request over the limit", `[` + ev(`"`+strings.Repeat(" ", 300)+`"`) + `]`, `request body is 329 bytes, over the limit of 300`},
		{"request at the limit", ev(strings.Repeat(" ", 300-len(ev("1"))) + "1"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drafts, _, err := ParseAppend([]byte(tt.in), lim, NewUUID)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(drafts) == 0 {
					t.Fatal("no drafts")
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("got %v, want an error wrapping ErrTooLarge", err)
			}
			if err.Error() != tt.want {
				t.Fatalf("got %q, want %q", err.Error(), tt.want)
			}
		})
	}
}

// nested returns a body of arrays and objects nested depth deep, its
// innermost level an empty object, with whitespace so it must be
// canonicalised.
func nested(depth int) string {
	var b strings.Builder
	for i := range depth - 1 {
		if i%2 == 0 {
			b.WriteString("[ ")
		} else {
			b.WriteString(`{"k": `)
		}
	}
	b.WriteString("{}")
	for i := depth - 2; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString(" ]")
		} else {
			b.WriteString("}")
		}
	}
	return b.String()
}

func TestParseAppendBodyDepth(t *testing.T) {
	tests := []struct {
		name  string
		limit int // Limits.BodyDepth; 0 = the default
		body  string
		want  string // "" for success
	}{
		{"scalar", 0, `1`, ""},
		{"default limit: 128 deep", 0, nested(128), ""},
		{"default limit: 129 deep", 0, nested(129), "body: arrays and objects nested deeper than the limit of 128 levels at byte 536"},
		{"default limit: 10,000 deep", 0, strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
			"event 1: body: arrays and objects nested deeper than the limit of 128 levels at byte 153"},
		{"limit 3: 3 deep", 3, `[{"a":[]}]`, ""},
		{"limit 3: 4 deep", 3, `[{"a":[{}]}]`, "body: arrays and objects nested deeper than the limit of 3 levels at byte 31"},
		{"limit above the maximum is the maximum", MaxBodyDepth + 5, strings.Repeat("[", MaxBodyDepth+1) + strings.Repeat("]", MaxBodyDepth+1),
			"body: arrays and objects nested deeper than the limit of 9999 levels at byte 10023"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{"eventType":"t","body":` + tt.body + `}`
			if strings.HasPrefix(tt.want, "event 1: ") {
				in = "[" + in + "]"
			}
			drafts, _, err := ParseAppend([]byte(in), Limits{BodyDepth: tt.limit, RequestBytes: 1 << 20}, NewUUID)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				want, err := CanonicalBody([]byte(tt.body))
				if err != nil || string(drafts[0].Body) != string(want) {
					t.Fatalf("got body %q, want %q (%v)", drafts[0].Body, want, err)
				}
				// The JCS library takes the body, and the body one level
				// down, as a stored event holds it.
				wrapped := `{"body":` + string(drafts[0].Body) + `}`
				if got, err := jcs.Transform([]byte(wrapped)); err != nil || string(got) != wrapped {
					t.Fatalf("jcs.Transform of the body in an object: %v", err)
				}
				return
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Msg != tt.want {
				t.Fatalf("got %v, want the *InputError %q", err, tt.want)
			}
		})
	}
}

func TestParseAppendZeroLimitsAreDefaults(t *testing.T) {
	body := `{"eventType":"t","body":"` + strings.Repeat("x", 2000) + `"}`
	if _, _, err := ParseAppend([]byte(body), Limits{}, NewUUID); err != nil {
		t.Fatalf("zero Limits: %v", err)
	}
	big := `{"eventType":"t","body":"` + strings.Repeat("x", 1<<20) + `"}`
	if _, _, err := ParseAppend([]byte(big), Limits{}, NewUUID); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge from the default event limit", err)
	}
}

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := NewUUID()
		if !re.MatchString(id) {
			t.Fatalf("got %q, want a lower-case version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("got %q twice", id)
		}
		seen[id] = true
		if got, err := normalUUID(id); err != nil || got != id {
			t.Fatalf("normalUUID(%q) = %q, %v", id, got, err)
		}
	}
}
