package event

import (
	"strings"
	"testing"
	"time"

	"apie/sum"
)

// benchBody is a small, typical body as a client writes it: keys out of
// order, some whitespace.
const benchBody = `{"title": "buy milk", "done": false, "tags": ["home", "shop"], "qty": 2, "price": 1.25, "note": "café ☕"}`

func benchEvent(b *testing.B) Event {
	body, err := CanonicalBody([]byte(benchBody))
	if err != nil {
		b.Fatal(err)
	}
	d := Draft{EventID: "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11", EventType: "todo.added", Body: body}
	return Seal(d, 12345, "alice@example.com", time.Date(2026, 11, 22, 6, 29, 35, 123456000, time.UTC), sum.Genesis)
}

func BenchmarkRecord(b *testing.B) {
	e := benchEvent(b)
	b.SetBytes(int64(len(e.Record())))
	b.ReportAllocs()
	for b.Loop() {
		e.Record()
	}
}

func BenchmarkSeal(b *testing.B) {
	e := benchEvent(b)
	d := Draft{EventID: e.EventID, EventType: e.EventType, Body: e.Body}
	at := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		Seal(d, 1, "alice@example.com", at, sum.Genesis)
	}
}

func BenchmarkCanonicalBody(b *testing.B) {
	canonical, err := CanonicalBody([]byte(benchBody))
	if err != nil {
		b.Fatal(err)
	}
	large := `[` + strings.TrimSuffix(strings.Repeat(benchBody+",", 1000), ",") + `]`
	for _, bb := range []struct{ name, in string }{
		{"small", benchBody},
		{"small-canonical", string(canonical)},
		{"100KB", large},
	} {
		b.Run(bb.name, func(b *testing.B) {
			in := []byte(bb.in)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CanonicalBody(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	e := benchEvent(b)
	rec := e.Record()
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRecord(b *testing.B) {
	e := benchEvent(b)
	rec := e.Record()
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyRecord(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAppend(b *testing.B) {
	in := []byte(`{"eventType":"todo.added","body":` + benchBody + `}`)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseAppend(in, DefaultLimits, NewUUID); err != nil {
			b.Fatal(err)
		}
	}
}
