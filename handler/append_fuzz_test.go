package handler_test

import (
	"strings"
	"testing"
)

// FuzzHandlerAppendBody sends any bytes as the body of POST /events
// through the whole handler over real stores: never a 5xx or a panic, an
// error is a JSON error, a refused request appends nothing, and what is
// acknowledged verifies by the hash rule.
func FuzzHandlerAppendBody(f *testing.F) {
	for _, seed := range []string{
		`{"eventType":"todo.added","body":{"title":"milk"}}`,
		`[{"eventType":"a","body":1},{"eventType":"b","body":[true,null,"x"]}]`,
		`{"eventId":"6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11","eventType":"t","body":{}}`,
		`{"eventType":"t","body":{"a":1,"a":2}}`,
		`{"eventType":"t","body":9007199254740993}`,
		`{"eventType":"t","body":"\ud800"}`,
		"{\"eventType\":\"t\",\"body\":\"\xff\"}",
		`{"eventType":"","body":1}`,
		`{"eventType":"t"}`,
		`{"eventType":"t","body":1,"extra":2}`,
		`[]`, `null`, ``, `[`, `{"eventType":"t","body":1}{}`,
		`{"eventType":"` + strings.Repeat("x", 300) + `","body":1}`,
		`{"eventType":"t","body":` + strings.Repeat("[", 128) + strings.Repeat("]", 128) + `}`,
		`{"eventType":"t","body":` + strings.Repeat("[", 129) + strings.Repeat("]", 129) + `}`,
		`{"eventType":"t","body":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		`{"eventType":"t","body":1e400}`, `{"eventType":"t","body":-0.0}`, `{"eventType":"t\u0000","body":1}`,
	} {
		f.Add([]byte(seed))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := fx.count(t)
		res := fx.do(t, "POST", "/events", body, map[string]string{"Content-Type": "application/json"})
		fx.checkAppend(t, "POST /events", before, res)
	})
}

// FuzzHandlerBatch builds batches from fuzzed parts (count, eventType,
// raw body, eventId, how often the eventId repeats): the batch is atomic
// (all or none), duplicates inside it and retries of stored events are
// judged as the contract says, and nothing else changes.
func FuzzHandlerBatch(f *testing.F) {
	f.Add(uint8(3), "todo.added", `{"title":"milk"}`, "", uint8(0))
	f.Add(uint8(2), "t", `1`, "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11", uint8(1))
	f.Add(uint8(4), "t", `{"a":1}`, "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a12", uint8(2))
	f.Add(uint8(5), "t", `{"a":`, "", uint8(0))
	f.Add(uint8(1), "", `null`, "not-a-uuid", uint8(1))
	f.Add(uint8(0), "t", `1`, "", uint8(0))
	f.Add(uint8(3), "t\xff", `"\ud800"`, "", uint8(3))
	f.Add(uint8(20), "t", `[1,2,3]`, "6F1C2C5E-4B7E-4F0E-9B43-2A1E5D0F6A13", uint8(7))
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, n uint8, eventType, body, id string, every uint8) {
		var b strings.Builder
		b.WriteByte('[')
		for i := 0; i < int(n%24); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"eventType":` + quote(eventType))
			if id != "" && (every == 0 || i%int(every) == 0) {
				b.WriteString(`,"eventId":` + quote(id))
			}
			// Vary the body with i unless the id repeats, so repeats are
			// retries and not conflicts... and sometimes conflicts.
			if every%2 == 1 {
				b.WriteString(`,"body":[` + body + `,` + string(rune('0'+i%10)) + `]}`)
			} else {
				b.WriteString(`,"body":` + body + `}`)
			}
		}
		b.WriteByte(']')
		before := fx.count(t)
		res := fx.do(t, "POST", "/events", []byte(b.String()), nil)
		fx.checkAppend(t, "POST /events (batch)", before, res)
		if res.Code == 201 || res.Code == 200 {
			if got := len(decodeAnswer(t, "batch", res.Body.Bytes())); got != int(n%24) {
				t.Fatalf("a batch of %d answered with %d events", n%24, got)
			}
		}
	})
}
