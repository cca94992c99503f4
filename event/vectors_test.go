package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"apie/sum"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the code (then review the diff)")

const vectorsFile = "testdata/vectors.json"

// vector is one event of the golden chain in testdata/vectors.json: the
// request body as a client sent it, the server's choices, and what the
// code must make of them.
type vector struct {
	Name      string `json:"name"`
	Request   string `json:"request"` // the body's JSON text as sent
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Seq       uint64 `json:"seq"`
	CreatedBy string `json:"createdBy"`
	CreatedAt string `json:"createdAt"`
	PrevHash  string `json:"prevHash"`
	BodySalt  string `json:"bodySalt,omitempty"` // the salt the server chose; absent: an unsalted event (stored before salts)
	Erased    bool   `json:"erased,omitempty"`   // record is the event after an erase (body null, no bodySalt)
	Body      string `json:"body"`               // canonical, as sealed
	BodyHash  string `json:"bodyHash"`
	Hash      string `json:"hash"`
	Record    string `json:"record"`
}

// vectorInputs are the inputs -update computes the file from.
var vectorInputs = []vector{
	{Name: "simple", Request: `{"title": "milk"}`, EventID: "6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11",
		EventType: "todo.added", CreatedBy: "alice@example.com", CreatedAt: "2026-11-22T06:29:35.123456Z"},
	{Name: "numbers", Request: `{"n": [1.0, 1e21, -0, 0.1, 1e-7, 9007199254740992, -9007199254740992, 1E30, 333333333.33333329, 5e-324, 1.7976931348623157e308, 12345678901234567000]}`,
		EventID: "00000000-0000-4000-8000-000000000002", EventType: "numbers", CreatedBy: "alice@example.com", CreatedAt: "2026-11-22T06:29:35.200000Z"},
	{Name: "unicode and escapes", Request: `{"é":"café","😀":"\ud83d\ude00","\u20ac":"€","\ufb33":1,"a\u0000":"\u001f","ctl":"\b\f\n\r\t\"\\\/","sep":"\u2028\u2029","html":"<>&","del":"\u007f"}`,
		EventID: "00000000-0000-4000-8000-000000000003", EventType: "ünïcödé.type ☕", CreatedBy: "o'brien \"x\"\\@example.com", CreatedAt: "2026-11-22T06:29:36.000001Z"},
	{Name: "nested", Request: `{"z": {"b": [ {"y": 1, "x": [2, {"q": null, "p": true}]} ], "a": false}, "a": [[[]], {}]}`,
		EventID: "00000000-0000-4000-8000-000000000004", EventType: "nested", CreatedBy: "bob", CreatedAt: "2026-12-31T23:59:59.999999Z"},
	{Name: "string body", Request: ` "just a string" `,
		EventID: "00000000-0000-4000-8000-000000000005", EventType: "s", CreatedBy: "bob", CreatedAt: "2027-01-01T00:00:00.000000Z"},
	{Name: "null body", Request: `null`,
		EventID: "00000000-0000-4000-8000-000000000006", EventType: "n", CreatedBy: "bob", CreatedAt: "2027-01-01T00:00:00.000001Z"},
	{Name: "array body", Request: `[true, false, null, [], {}, "", 0]`,
		EventID: "00000000-0000-4000-8000-000000000007", EventType: "a", CreatedBy: "", CreatedAt: "2027-01-01T00:00:00.000002Z"},
	{Name: "salted", Request: `{"email": "bob@example.com"}`, BodySalt: "00112233445566778899aabbccddeeff",
		EventID: "00000000-0000-4000-8000-000000000008", EventType: "user.signed.up", CreatedBy: "bob", CreatedAt: "2027-01-02T00:00:00.000000Z"},
	{Name: "erased", Request: `{"email": "carol@example.com"}`, BodySalt: "f0e1d2c3b4a5968778695a4b3c2d1e0f", Erased: true,
		EventID: "00000000-0000-4000-8000-000000000009", EventType: "user.signed.up", CreatedBy: "carol", CreatedAt: "2027-01-02T00:00:01.000000Z"},
	{Name: "tombstone", Request: `{"erased": "$erased", "seq": 9, "reason": "GDPR request 17"}`, BodySalt: "0123456789abcdef0123456789abcdef",
		EventID: "$tombstone", EventType: ErasedType, CreatedBy: "admin@example.com", CreatedAt: "2027-01-03T00:00:00.000000Z"},
}

// resolveVector fills the tombstone vector's placeholders from the chain
// sealed so far: the hash of the erased event and the tombstone's eventId.
func resolveVector(v vector, erased sum.Hash) vector {
	v.Request = strings.ReplaceAll(v.Request, "$erased", erased.String())
	if v.EventID == "$tombstone" {
		v.EventID = TombstoneID(erased)
	}
	return v
}

// sealVector computes what the code makes of v's inputs, chained on prev:
// the event as sealed and as stored (erased, for an erased vector).
func sealVector(t *testing.T, v vector, seq uint64, prev sum.Hash) (sealed, stored Event) {
	t.Helper()
	body, err := CanonicalBody([]byte(v.Request))
	if err != nil {
		t.Fatalf("%s: CanonicalBody: %v", v.Name, err)
	}
	at, err := time.Parse(timeLayout, v.CreatedAt)
	if err != nil {
		t.Fatalf("%s: %v", v.Name, err)
	}
	e := Seal(Draft{EventID: v.EventID, EventType: v.EventType, Body: body, BodySalt: v.BodySalt}, seq, v.CreatedBy, at, prev)
	if v.Erased {
		return e, Erase(e)
	}
	return e, e
}

func writeVectors(t *testing.T) {
	prev := sum.Genesis
	var out []vector
	var erased sum.Hash
	for i, v := range vectorInputs {
		v = resolveVector(v, erased)
		e, stored := sealVector(t, v, uint64(i+1), prev)
		v.Seq, v.PrevHash = e.Seq, e.PrevHash.String()
		v.Body, v.BodyHash, v.Hash, v.Record = string(e.Body), e.BodyHash.String(), e.Hash.String(), string(stored.Record())
		out = append(out, v)
		prev = e.Hash
		if v.Erased {
			erased = e.Hash
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vectorsFile, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 10 {
		t.Fatalf("got %d vectors, want at least 10", len(vs))
	}
	return vs
}

// TestVectors checks the code against the golden file; it never rewrites
// it unless run with -update.
func TestVectors(t *testing.T) {
	if *update {
		writeVectors(t)
	}
	prev := sum.Genesis.String()
	for i, v := range readVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if v.Seq != uint64(i+1) {
				t.Fatalf("seq: got %d, want %d", v.Seq, i+1)
			}
			if v.PrevHash != prev {
				t.Fatalf("prevHash: got %q, want %q (the hash before)", v.PrevHash, prev)
			}
			ph, err := sum.Parse(v.PrevHash)
			if err != nil {
				t.Fatal(err)
			}
			e, stored := sealVector(t, v, v.Seq, ph)
			checks := []struct{ name, got, want string }{
				{"body", string(e.Body), v.Body},
				{"bodyHash", e.BodyHash.String(), v.BodyHash},
				{"hash", e.Hash.String(), v.Hash},
				{"record", string(stored.Record()), v.Record},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Fatalf("%s: got %q, want %q", c.name, c.got, c.want)
				}
			}
			d, isErased, err := VerifyErasable([]byte(v.Record))
			if err != nil {
				t.Fatalf("VerifyErasable: %v", err)
			}
			if isErased != v.Erased {
				t.Fatalf("VerifyErasable: erased %v, want %v", isErased, v.Erased)
			}
			if _, err := VerifyRecord([]byte(v.Record)); (err != nil) != v.Erased {
				t.Fatalf("VerifyRecord: %v; an error is wanted exactly for an erased record", err)
			}
			if got := string(d.Record()); got != v.Record {
				t.Fatalf("decoded record: got %q, want %q", got, v.Record)
			}
		})
		prev = v.Hash
	}
}

// TestVectorsByHand recomputes two vectors without the code under test:
// JCS text written out by hand, hashed with crypto/sha256.
func TestVectorsByHand(t *testing.T) {
	vs := readVectors(t)
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	tests := []struct {
		v      vector
		body   string
		header func(bodyHash, prev string) string
	}{
		{
			v:    vs[0],
			body: `{"title":"milk"}`,
			header: func(bodyHash, prev string) string {
				return `{"bodyHash":"` + bodyHash + `","createdAt":"2026-11-22T06:29:35.123456Z","createdBy":"alice@example.com",` +
					`"eventId":"6f1c2c5e-4b7e-4f0e-9b43-2a1e5d0f6a11","eventType":"todo.added","prevHash":"` + prev + `","seq":1}`
			},
		},
		{
			v: vs[1],
			body: `{"n":[1,1e+21,0,0.1,1e-7,9007199254740992,-9007199254740992,1e+30,333333333.3333333,5e-324,` +
				`1.7976931348623157e+308,12345678901234567000]}`,
			header: func(bodyHash, prev string) string {
				return `{"bodyHash":"` + bodyHash + `","createdAt":"2026-11-22T06:29:35.200000Z","createdBy":"alice@example.com",` +
					`"eventId":"00000000-0000-4000-8000-000000000002","eventType":"numbers","prevHash":"` + prev + `","seq":2}`
			},
		},
		{
			v:    vs[2],
			body: "{\"a\\u0000\":\"\\u001f\",\"ctl\":\"\\b\\f\\n\\r\\t\\\"\\\\/\",\"del\":\"\x7f\",\"html\":\"<>&\",\"sep\":\"\u2028\u2029\",\"é\":\"café\",\"€\":\"€\",\"😀\":\"😀\",\"\ufb33\":1}",
			header: func(bodyHash, prev string) string {
				return `{"bodyHash":"` + bodyHash + `","createdAt":"2026-11-22T06:29:36.000001Z","createdBy":"o'brien \"x\"\\@example.com",` +
					`"eventId":"00000000-0000-4000-8000-000000000003","eventType":"ünïcödé.type ☕","prevHash":"` + prev + `","seq":3}`
			},
		},
	}
	prev := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	for _, tt := range tests {
		t.Run(tt.v.Name, func(t *testing.T) {
			if tt.v.Body != tt.body {
				t.Fatalf("body: got %q, want %q", tt.v.Body, tt.body)
			}
			bodyHash := hash(tt.body)
			if tt.v.BodyHash != bodyHash {
				t.Fatalf("bodyHash: got %q, want %q", tt.v.BodyHash, bodyHash)
			}
			h := hash(tt.header(bodyHash, prev))
			if tt.v.Hash != h {
				t.Fatalf("hash: got %q, want %q", tt.v.Hash, h)
			}
		})
		prev = tt.v.Hash
	}
}
