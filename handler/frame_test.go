package handler

import (
	"encoding/json"
	"testing"
)

// TestControlJSON: the control lines written by hand are what
// encoding/json writes for them.
func TestControlJSON(t *testing.T) {
	n := uint64(42)
	for _, c := range []control{
		{Apie: "caughtUp", Head: "9f2c", Count: &n},
		{Apie: "caughtUp", Head: "9f2c", Count: new(uint64)},
		{Apie: "heartbeat"},
		{Apie: "end", After: "ab01"},
	} {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.appendJSON(nil); string(got) != string(want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
