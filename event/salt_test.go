package event

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"apie/sum"
)

// TestSaltedVectorByHand recomputes the salted and the erased vectors
// without the code under test: the salted bodyHash is the SHA-256 of
// {"body":…,"salt":…} written out by hand, and the hash leaves bodySalt out.
func TestSaltedVectorByHand(t *testing.T) {
	vs := readVectors(t)
	hash := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	for _, v := range vs[7:9] {
		bodyHash := hash(`{"body":` + v.Body + `,"salt":"` + v.BodySalt + `"}`)
		if v.BodyHash != bodyHash {
			t.Fatalf("%s: bodyHash %s, want %s", v.Name, v.BodyHash, bodyHash)
		}
		if v.BodyHash == hash(v.Body) {
			t.Fatalf("%s: bodyHash is the unsalted one", v.Name)
		}
		header := `{"bodyHash":"` + bodyHash + `","createdAt":"` + v.CreatedAt + `","createdBy":"` + v.CreatedBy +
			`","eventId":"` + v.EventID + `","eventType":"` + v.EventType + `","prevHash":"` + v.PrevHash + `","seq":` + itoa(v.Seq) + `}`
		if h := hash(header); v.Hash != h {
			t.Fatalf("%s: hash %s, want %s", v.Name, v.Hash, h)
		}
		wantBody, wantSalt := v.Body, `"bodySalt":"`+v.BodySalt+`",`
		if v.Erased {
			wantBody, wantSalt = "null", ""
		}
		want := `{"body":` + wantBody + `,"bodyHash":"` + bodyHash + `",` + wantSalt + header[len(`{"bodyHash":"`)+64+2:len(header)-len(`,"seq":`+itoa(v.Seq)+`}`)] +
			`,"hash":"` + v.Hash + `","prevHash":"` + v.PrevHash + `","seq":` + itoa(v.Seq) + `}`
		want = strings.Replace(want, `,"prevHash":"`+v.PrevHash+`","hash"`, `,"hash"`, 1)
		if v.Record != want {
			t.Fatalf("%s: record\n%s\nwant\n%s", v.Name, v.Record, want)
		}
	}
}

func itoa(n uint64) string { return string(appendUint(nil, n)) }

// TestTombstone checks the tombstone vector against TombstoneDraft and
// ParseTombstone, and that the eventId is the one derived from the hash.
func TestTombstone(t *testing.T) {
	vs := readVectors(t)
	erased, tomb := vs[8], vs[9]
	h, err := sum.Parse(erased.Hash)
	if err != nil {
		t.Fatal(err)
	}
	d := TombstoneDraft(h, erased.Seq, "GDPR request 17")
	if string(d.Body) != tomb.Body || d.EventID != tomb.EventID || d.EventType != ErasedType {
		t.Fatalf("TombstoneDraft: %+v; want body %s, eventId %s", d, tomb.Body, tomb.EventID)
	}
	ev, err := DecodeRecord([]byte(tomb.Record))
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := ParseTombstone(&ev)
	if !ok || ts.Erased != h || ts.Seq != erased.Seq || ts.Reason != "GDPR request 17" {
		t.Fatalf("ParseTombstone: %+v %v", ts, ok)
	}
	if len(TombstoneID(h)) != 36 || !isLowerUUID(TombstoneID(h)) {
		t.Fatalf("TombstoneID %q is not a lower-case UUID", TombstoneID(h))
	}
	if _, ok := ParseTombstone(&Event{EventType: "x", Body: d.Body}); ok {
		t.Fatal("ParseTombstone accepted another eventType")
	}
}

// TestAppendRefusesTombstoneType: a client cannot append apie.erased, so
// no tombstone exists without an erase.
func TestAppendRefusesTombstoneType(t *testing.T) {
	_, _, err := ParseAppend([]byte(`{"eventType":"apie.erased","body":{"erased":"x","seq":1}}`), DefaultLimits, NewUUID)
	var in *InputError
	if !errors.As(err, &in) || !strings.Contains(in.Msg, "reserved") {
		t.Fatalf("got %v, want an InputError saying the type is reserved", err)
	}
}

// TestSameContentSaltedAndErased: a retry compares bodies, not the salted
// bodyHash; a retry of an erased event is the same content.
func TestSameContentSaltedAndErased(t *testing.T) {
	d := Draft{EventID: NewUUID(), EventType: "t", Body: []byte(`{"a":1}`), BodySalt: NewSalt()}
	e := Seal(d, 1, "u", time.Unix(0, 0), sum.Genesis)
	retry := Draft{EventID: d.EventID, EventType: "t", Body: []byte(`{"a":1}`)}
	if !SameContent(&e, &retry) {
		t.Fatal("a retry with the same body is not the same content")
	}
	other := retry
	other.Body = []byte(`{"a":2}`)
	if SameContent(&e, &other) {
		t.Fatal("another body is the same content")
	}
	er := Erase(e)
	if !er.Erased() || e.Erased() {
		t.Fatalf("Erased: erased %v, original %v", er.Erased(), e.Erased())
	}
	if !SameContent(&er, &retry) || !SameContent(&er, &other) {
		t.Fatal("a retry of an erased event is not the same content")
	}
	other.EventType = "u"
	if SameContent(&er, &other) {
		t.Fatal("another eventType matches an erased event")
	}
	if a, b := NewSalt(), NewSalt(); a == b || len(a) != 32 || !isLowerHex([]byte(a)) {
		t.Fatalf("NewSalt: %q %q", a, b)
	}
}
