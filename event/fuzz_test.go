package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"apie/sum"

	"github.com/gowebpki/jcs"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; these f.Add calls are
// the few every run starts from besides.

func FuzzCanonicalBody(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.0,-0,1e21]}`, `"\ud83d\ude00"`, `{"a":1,"a":2}`, `9007199254740993`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := CanonicalBody(in)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("CanonicalBody(%q): error %v is not an *InputError", in, err)
			}
			if !utf8.ValidString(ie.Msg) {
				t.Fatalf("message %q is not valid UTF-8", ie.Msg)
			}
			return
		}
		if !utf8.Valid(in) {
			t.Fatalf("accepted invalid UTF-8 %q", in)
		}
		if !json.Valid(in) || !json.Valid(out) {
			t.Fatalf("CanonicalBody(%q) = %q: not both valid JSON", in, out)
		}
		again, err := CanonicalBody(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: CanonicalBody(%q) = %q, %v", out, again, err)
		}
		want, err := jcs.Transform(in)
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("CanonicalBody(%q) = %q; jcs.Transform gives %q, %v", in, out, want, err)
		}
		var a, b any
		if err := json.Unmarshal(in, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("value changed: %q became %q", in, out)
		}
	})
}

func FuzzParseAppend(f *testing.F) {
	for _, s := range []string{
		`{"eventType":"t","body":{"b":1,"a":2}}`,
		`[{"eventId":"6F1C2C5E-4B7E-4F0E-9B43-2A1E5D0F6A11","eventType":"a","body":1},{"eventType":"b","body":null}]`,
		`[]`, `{"eventType":"t"}`,
		`{"eventType":"t","body":1,"stream":"/orders/42","expectedVersion":7}`,
		`[{"eventType":"t","body":1,"stream":"/a/.."},{"eventType":"t","body":1,"expectedVersion":0}]`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{EventBytes: 200, RequestBytes: 4096, BatchEvents: 4}
	f.Fuzz(func(t *testing.T, in []byte) {
		drafts, batch, err := ParseAppend(in, lim, NewUUID)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("ParseAppend(%q): error %v is neither an *InputError nor ErrTooLarge", in, err)
			}
			if drafts != nil {
				t.Fatalf("drafts returned with an error")
			}
			return
		}
		if !json.Valid(in) || len(drafts) == 0 || len(drafts) > lim.BatchEvents || (!batch && len(drafts) != 1) {
			t.Fatalf("ParseAppend(%q) accepted %d drafts (batch %v)", in, len(drafts), batch)
		}
		ids := make(map[string]bool)
		for _, d := range drafts {
			if !isLowerUUID(d.EventID) || ids[d.EventID] {
				t.Fatalf("eventId %q bad or repeated", d.EventID)
			}
			ids[d.EventID] = true
			if err := checkEventType(d.EventType); err != nil {
				t.Fatalf("accepted eventType %q: %v", d.EventType, err)
			}
			if c, err := CanonicalBody(d.Body); err != nil || !bytes.Equal(c, d.Body) {
				t.Fatalf("body %q not canonical: %q, %v", d.Body, c, err)
			}
			if draftSize(&d) > lim.EventBytes {
				t.Fatalf("draft of %d bytes passed the limit", draftSize(&d))
			}
			if d.Stream != "" && CheckStream(d.Stream) != nil || d.HasExpected && d.Stream == "" {
				t.Fatalf("accepted stream %q (expectedVersion %v)", d.Stream, d.HasExpected)
			}
		}
	})
}

// FuzzCheckStream: an accepted stream name keeps the rule (what the
// index and the URL parameters rely on), and a refusal is an
// *InputError with a valid UTF-8 message.
func FuzzCheckStream(f *testing.F) {
	for _, s := range []string{"/orders/42", "/a/../b", "//", "/", "/a~b._-c", "/caf\u00e9", "/a/b/c/d/e/f/g/h/i"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := CheckStream(name)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !utf8.ValidString(ie.Msg) {
				t.Fatalf("CheckStream(%q): %v", name, err)
			}
			return
		}
		segs := strings.Split(name, "/")
		if len(name) > MaxStreamBytes || segs[0] != "" || len(segs) < 2 || len(segs) > MaxStreamSegments+1 {
			t.Fatalf("accepted %q", name)
		}
		for _, seg := range segs[1:] {
			if seg == "" || seg == "." || seg == ".." || len(seg) > MaxSegmentBytes || strings.Trim(seg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-") != "" {
				t.Fatalf("accepted %q with segment %q", name, seg)
			}
		}
		if !InStream(name, name) || InStream(name+"x", name) || !InStream(name+"/x", name) {
			t.Fatalf("InStream disagrees with %q", name)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	e := sampleEvent()
	f.Add(e.Record())
	f.Add([]byte(`{"seq":1}`))
	f.Fuzz(func(t *testing.T, rec []byte) {
		e, err := DecodeRecord(rec)
		if _, verr := VerifyRecord(rec); verr == nil && err != nil {
			t.Fatalf("VerifyRecord accepts what DecodeRecord refuses: %v", err)
		}
		if err != nil {
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeRecord(%q): error %v is not a *RecordError", rec, err)
			}
			return
		}
		// Whatever DecodeRecord accepts, Record writes as a record that
		// decodes to the same event and the same bytes.
		out := e.Record()
		back, err := DecodeRecord(out)
		if err != nil {
			t.Fatalf("DecodeRecord(Record(%q)): %v", out, err)
		}
		if again := back.Record(); !bytes.Equal(again, out) {
			t.Fatalf("round trip: got %q, want %q", again, out)
		}
		// Sealed again with a canonical body, it verifies.
		body, err := CanonicalBody(e.Body)
		if err != nil {
			return
		}
		at, err := time.Parse(timeLayout, e.CreatedAt)
		if err != nil {
			return // a shape that is no date, like month 13
		}
		sealed := Seal(Draft{EventID: e.EventID, EventType: e.EventType, Body: body}, e.Seq, e.CreatedBy, at, e.PrevHash)
		if _, err := VerifyRecord(sealed.Record()); err != nil {
			t.Fatalf("VerifyRecord(%q): %v", sealed.Record(), err)
		}
	})
}

// FuzzRecord checks the hand-written JCS encoder against jcs.Transform for
// any strings.
func FuzzRecord(f *testing.F) {
	f.Add(uint64(1), "todo.added", "alice@example.com", int64(1795000000123456789), "\"x\"")
	f.Add(uint64(1<<53), "\u2028<>&😀", "a\x00\x1f\x7f\"\\", int64(0), "{\"a\":[1,2]}")
	f.Fuzz(func(t *testing.T, seq uint64, eventType, createdBy string, nanos int64, body string) {
		seq = seq%(1<<53) + 1
		b, err := CanonicalBody([]byte(body))
		if err != nil {
			b = []byte(`null`)
		}
		e := Seal(Draft{EventID: NewUUID(), EventType: eventType, Body: b}, seq, createdBy, time.Unix(0, nanos), sum.Genesis)
		rec := e.Record()
		if !utf8.Valid(rec) || bytes.IndexByte(rec, '\n') >= 0 {
			t.Fatalf("record %q: invalid UTF-8 or a raw newline", rec)
		}
		want, err := jcs.Transform(rec)
		if err != nil || !bytes.Equal(rec, want) {
			t.Fatalf("record %q is not its JCS form %q (%v)", rec, want, err)
		}
		got, err := VerifyRecord(rec)
		if err != nil {
			t.Fatalf("VerifyRecord(%q): %v", rec, err)
		}
		if !bytes.Equal(got.Record(), rec) {
			t.Fatalf("round trip: got %q, want %q", got.Record(), rec)
		}
	})
}
