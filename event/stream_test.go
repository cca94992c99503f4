package event

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"

	"apie/sum"
)

func TestCheckStream(t *testing.T) {
	seg64 := strings.Repeat("a", 64)
	tests := []struct {
		name string
		ok   bool
		says string
	}{
		{"/orders", true, ""},
		{"/orders/42/lines", true, ""},
		{"/A-Z_a.z~0-9/..x/x..", true, ""},
		{"/" + strings.Repeat("s/", 7) + "s", true, ""},
		{"/" + seg64 + "/" + seg64 + "/" + seg64 + "/" + strings.Repeat("a", 60), true, ""}, // 256 bytes
		{"", false, "empty"},
		{"orders", false, "must start with '/'"},
		{"/", false, "no segment"},
		{"/orders/", false, "must not end with '/'"},
		{"//orders", false, "empty segment 1"},
		{"/a//b", false, "empty segment 2"},
		{"/a/.", false, `segment "."`},
		{"/../a", false, `segment ".."`},
		{"/" + strings.Repeat("s/", 8) + "s", false, "9 segments"},
		{"/" + seg64 + "/" + seg64 + "/" + seg64 + "/" + strings.Repeat("a", 61), false, "257 bytes"},
		{"/" + strings.Repeat("a", 65), false, "65 characters"},
		{"/a b", false, "' '"},
		{"/a\x00", false, `'\x00'`},
		{"/caf\u00e9", false, "use only"},
		{"/a?b", false, "'?'"},
	}
	for _, tt := range tests {
		err := CheckStream(tt.name)
		if tt.ok {
			if err != nil {
				t.Errorf("CheckStream(%q): %v", tt.name, err)
			}
			continue
		}
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, tt.says) {
			t.Errorf("CheckStream(%q) = %v, want an InputError saying %q", tt.name, err, tt.says)
		}
	}
}

func TestInStream(t *testing.T) {
	tests := []struct {
		name, prefix string
		want         bool
	}{
		{"/orders", "/orders", true},
		{"/orders/42", "/orders", true},
		{"/orders/42/lines", "/orders", true},
		{"/orders2", "/orders", false},
		{"/order", "/orders", false},
		{"/orders/42", "/orders/4", false},
	}
	for _, tt := range tests {
		if got := InStream(tt.name, tt.prefix); got != tt.want {
			t.Errorf("InStream(%q, %q) = %v", tt.name, tt.prefix, got)
		}
	}
}

func TestParseAppendStream(t *testing.T) {
	tests := []struct {
		in       string
		stream   string
		expected int64 // -1: none
		err      string
	}{
		{`{"eventType":"t","body":1,"stream":"/orders/42"}`, "/orders/42", -1, ""},
		{`{"stream":"/a","expectedVersion":0,"eventType":"t","body":1}`, "/a", 0, ""},
		{`{"eventType":"t","body":1,"stream":"/a","expectedVersion":9007199254740992}`, "/a", 1 << 53, ""},
		{`{"eventType":"t","body":1,"stream":"/a","expectedVersion":9007199254740993}`, "", 0, "cannot be kept exactly"},
		{`{"eventType":"t","body":1,"stream":"/a","expectedVersion":1e2}`, "", 0, "whole number"},
		{`{"eventType":"t","body":1,"stream":"/a","expectedVersion":null}`, "", 0, "whole number"},
		{`{"eventType":"t","body":1,"expectedVersion":3}`, "", 0, `needs a "stream"`},
		{`{"eventType":"t","body":1,"stream":null}`, "", 0, "must be a string"},
		{`{"eventType":"t","body":1,"stream":"/a","stream":"/b"}`, "", 0, "duplicate"},
		{`[{"eventType":"t","body":1,"stream":"/a"},{"eventType":"t","body":1,"stream":"a"}]`, "", 0, "event 2: stream"},
	}
	for _, tt := range tests {
		drafts, _, err := ParseAppend([]byte(tt.in), DefaultLimits, counterIDs())
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want one saying %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		d := drafts[0]
		if d.Stream != tt.stream || d.HasExpected != (tt.expected >= 0) || tt.expected >= 0 && d.ExpectedVersion != uint64(tt.expected) {
			t.Errorf("%s: got %+v", tt.in, d)
		}
	}
}

// TestStreamRecord: an event of a stream is stored with stream and
// streamSeq last (JCS order), the record is canonical, the hash covers
// both members, and the record decodes back; an event without a stream
// has neither member.
func TestStreamRecord(t *testing.T) {
	d := Draft{EventID: "00000000-0000-4000-8000-000000000001", EventType: "t", Body: []byte(`{"a":1}`), Stream: "/orders/42", StreamSeq: 7}
	e := Seal(d, 3, "alice@example.com", time.Date(2026, 11, 22, 6, 29, 35, 123456000, time.UTC), sum.Genesis)
	rec := e.Record()
	canon, err := jcs.Transform(rec)
	if err != nil || !bytes.Equal(canon, rec) {
		t.Fatalf("record is not canonical:\n%s\n%s", rec, canon)
	}
	if !bytes.HasSuffix(rec, []byte(`"seq":3,"stream":"/orders/42","streamSeq":7}`)) {
		t.Errorf("record %s", rec)
	}
	got, err := VerifyRecord(rec)
	if err != nil || got.Stream != "/orders/42" || got.StreamSeq != 7 {
		t.Fatalf("VerifyRecord: %+v, %v", got, err)
	}
	moved := bytes.Replace(rec, []byte(`"streamSeq":7`), []byte(`"streamSeq":8`), 1)
	if _, err := VerifyRecord(moved); err == nil {
		t.Error("a changed streamSeq verifies")
	}
	plain := d
	plain.Stream, plain.StreamSeq = "", 0
	pe := Seal(plain, 3, "alice@example.com", time.Now(), sum.Genesis)
	if bytes.Contains(pe.Record(), []byte("stream")) {
		t.Errorf("an event without a stream has stream members: %s", pe.Record())
	}
	for _, bad := range []string{
		`,"stream":"/a"}`, `,"streamSeq":1}`, `,"stream":"a","streamSeq":1}`, `,"stream":"/a","streamSeq":0}`,
	} {
		r := append(bytes.Clone(pe.Record()[:len(pe.Record())-1]), bad...)
		if _, err := DecodeRecord(r); err == nil {
			t.Errorf("DecodeRecord accepts %s", bad)
		}
	}
}
