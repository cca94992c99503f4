package event

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"apie/sum"
)

func sampleEvent() Event {
	d := Draft{EventID: "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11", EventType: "todo.added", Body: []byte(`{"title":"milk \"2%\"\n"}`)}
	return Seal(d, 7, "alice@example.com", time.Date(2026, 11, 22, 6, 29, 35, 123456000, time.UTC), sum.Genesis)
}

func TestDecodeRecordRoundTrip(t *testing.T) {
	e := sampleEvent()
	rec := e.Record()
	got, err := DecodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Record(), rec) {
		t.Fatalf("got %q, want %q", got.Record(), rec)
	}
	if got.Seq != 7 || got.EventID != e.EventID || got.EventType != e.EventType || got.CreatedBy != e.CreatedBy ||
		got.CreatedAt != e.CreatedAt || got.BodyHash != e.BodyHash || got.PrevHash != e.PrevHash || got.Hash != e.Hash ||
		string(got.Body) != string(e.Body) {
		t.Fatalf("got %+v, want %+v", got, e)
	}
	rec[len(`{"body":{`)] = 'X' // Body must not share memory with rec
	if string(got.Body) != string(e.Body) {
		t.Fatalf("Body changed with rec: got %q", got.Body)
	}
}

// edit returns the sample record with old replaced by new (once).
func edit(t *testing.T, old, new string) []byte {
	t.Helper()
	e := sampleEvent()
	rec := string(e.Record())
	if !strings.Contains(rec, old) {
		t.Fatalf("%q not in %q", old, rec)
	}
	return []byte(strings.Replace(rec, old, new, 1))
}

func TestDecodeRecordRefuses(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           string
		at             string // if set, want has a %d for its offset in the edited record
	}{
		{"seq missing", `,"seq":7`, ``, `bad record: member "seq": missing`, ""},
		{"hash missing", `"hash":"`, `"hish":"`, `bad record: member "hash": missing`, ""},
		{"seq zero", `"seq":7`, `"seq":0`, `bad record: member "seq": not a positive integer up to 2^53`, ""},
		{"seq fraction", `"seq":7`, `"seq":7.5`, `bad record: member "seq": not a positive integer up to 2^53`, ""},
		{"seq string", `"seq":7`, `"seq":"7"`, `bad record: member "seq": not a positive integer up to 2^53`, ""},
		{"seq too big", `"seq":7`, `"seq":9007199254740993`, `bad record: member "seq": not a positive integer up to 2^53`, ""},
		{"hash upper case", `"hash":"`, `"hash":"A`, `bad record: member "hash": not 64 lower-case hex digits`, ""},
		{"prevHash short", `"prevHash":"e3`, `"prevHash":"`, `bad record: member "prevHash": not 64 lower-case hex digits`, ""},
		{"bodyHash a number", `"bodyHash":"`, `"bodyHash":1,"x":"`, `bad record: member "bodyHash": not a string`, ""},
		{"eventId upper case", `6f1c2c5e`, `6F1C2C5E`, `bad record: member "eventId": not a lower-case UUID`, ""},
		{"createdAt without micros", `.123456Z`, `Z`, `bad record: member "createdAt": not of the form 2006-01-02T15:04:05.000000Z`, ""},
		{"eventType a number", `"eventType":"todo.added"`, `"eventType":1`, `bad record: member "eventType": not a string`, ""},
		{"member twice", `"seq":7`, `"seq":7,"seq":7`, `bad record: member "seq": appears twice`, ""},
		{"trailing data", `"seq":7}`, "\"seq\":7}\n#", `bad record: trailing data at byte %d after the JSON value`, "#"},
		{"cut short", `"seq":7}`, `"seq":7`, `bad record: unexpected end of input at byte %d: want ',' or '}'`, "\x00"},
		{"invalid UTF-8", `alice`, "al\xffce", `bad record: invalid UTF-8 at byte %d`, "\xff"},
		{"not an object", `{"body":`, `[`, `bad record: unexpected '[' at byte 0: want an object`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := edit(t, tt.old, tt.new)
			want := tt.want
			switch tt.at {
			case "":
			case "\x00":
				want = fmt.Sprintf(want, len(rec))
			default:
				want = fmt.Sprintf(want, bytes.Index(rec, []byte(tt.at)))
			}
			_, err := DecodeRecord(rec)
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("DecodeRecord(%q): got %v, want a *RecordError", rec, err)
			}
			if err.Error() != want {
				t.Fatalf("got %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestDecodeRecordSkipsUnknownMembers(t *testing.T) {
	rec := edit(t, `"prevHash"`, `"later":{"x":[1,2]},"prevHash"`)
	got, err := DecodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleEvent(); got.Hash != want.Hash || got.Seq != want.Seq {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

// reseal recomputes bodyHash and hash of a record by the hash rule,
// generically, with jcs: what a later version would write.
func reseal(t *testing.T, rec []byte, erased bool) []byte {
	t.Helper()
	e, err := DecodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	s := string(rec)
	if !erased {
		s = strings.Replace(s, e.BodyHash.String(), sum.Of(e.Body).String(), 1)
	}
	_, parts, err := decodeRecord([]byte(s), true)
	if err != nil {
		t.Fatal(err)
	}
	h := sum.Of(headerOf([]byte(s), parts))
	return []byte(strings.Replace(s, `"hash":"`+e.Hash.String(), `"hash":"`+h.String(), 1))
}

func TestVerifyRecord(t *testing.T) {
	sample := sampleEvent()
	good := sample.Record()
	tests := []struct {
		name string
		rec  []byte
		want string // "" for a good record
	}{
		{"good", good, ""},
		{"body changed", edit(t, `milk`, `silk`), `bad record: member "bodyHash": is `},
		{"createdBy changed", edit(t, `alice`, `alicf`), `bad record: member "hash": is `},
		{"seq changed", edit(t, `"seq":7`, `"seq":8`), `bad record: member "hash": is `},
		{"extra member added", edit(t, `"prevHash"`, `"later":1,"prevHash"`), `bad record: member "hash": is `},
		{"extra member covered once resealed", reseal(t, edit(t, `"prevHash"`, `"later":[1,{"a":"é"}],"prevHash"`), false), ""},
		{"body replaced and resealed", reseal(t, edit(t, `milk`, `silk`), false), ""},
		{"body null: erased, unchecked", edit(t, `{"title":"milk \"2%\"\n"}`, `null`), `bad record: member "body": is null and does not match bodyHash`},
		{"body emptied is not an erasure", edit(t, `{"title":"milk \"2%\"\n"}`, `{}`), `bad record: member "bodyHash": is `},
		{"whitespace", edit(t, `"seq":7`, `"seq": 7`), `bad record: not canonical JSON (RFC 8785) at byte 418`},
		{"members out of order", edit(t, `{"body":{"title":"milk \"2%\"\n"},`, `{"title2":1,"body":{"title":"milk \"2%\"\n"},`), `bad record: not canonical JSON (RFC 8785) at byte 12`},
		{"escape not canonical", edit(t, `milk`, `\u006dilk`), `bad record: not canonical JSON (RFC 8785) at byte 18`},
		{"duplicate key in body", edit(t, `{"title":`, `{"title":1,"title":`), `bad record: duplicate key "title" at byte 19`},
		{"number not canonical", edit(t, `"seq":7`, `"seq":7.0`), `bad record: member "seq": not a positive integer up to 2^53`},
		{"big number in body", edit(t, `{"title":`, `{"n":9007199254740993,"title":`), `bad record: number 9007199254740993 at byte 13 cannot be kept exactly by a double: send it as a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyRecord(tt.rec)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("VerifyRecord(%q): %v", tt.rec, err)
				}
				return
			}
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("VerifyRecord(%q): got %v, want a *RecordError", tt.rec, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %q, want %q…", err.Error(), tt.want)
			}
		})
	}
}

func TestVerifyRecordErasedKeepsChain(t *testing.T) {
	e := sampleEvent()
	erased := edit(t, `{"title":"milk \"2%\"\n"}`, `null`)
	// An erasure writes body null and nothing else: VerifyRecord names it
	// (ErrErasedBody), VerifyErasable accepts it, and the hash still holds.
	_, err := VerifyRecord(erased)
	var re *RecordError
	if !errors.As(err, &re) || re.Member != "body" || !errors.Is(err, ErrErasedBody) {
		t.Fatalf("got %v, want a body RecordError wrapping ErrErasedBody", err)
	}
	if _, isErased, err := VerifyErasable(erased); err != nil || !isErased {
		t.Fatalf("VerifyErasable: erased %v, %v; want true, nil", isErased, err)
	}
	got, err := DecodeRecord(erased)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != e.Hash || HeaderHash(&got) != e.Hash {
		t.Fatalf("erasing the body changed the hash: got %s, want %s", HeaderHash(&got), e.Hash)
	}
}
