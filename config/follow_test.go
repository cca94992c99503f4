package config

import (
	"strings"
	"testing"
)

func TestFollowConfig(t *testing.T) {
	c, err := Parse([]byte(`{}`), "/base")
	if err != nil {
		t.Fatal(err)
	}
	if c.Follow != defaultFollow {
		t.Errorf("defaults: got %+v, want %+v", c.Follow, defaultFollow)
	}
	c, err = Parse([]byte(`{"follow":{"heartbeatSeconds":2,"cgiSeconds":5,"writeTimeoutSeconds":3,"poll":true,"pollSeconds":4}}`), "/base")
	if err != nil {
		t.Fatal(err)
	}
	want := Follow{HeartbeatSeconds: 2, CGISeconds: 5, WriteTimeoutSeconds: 3, Poll: true, PollSeconds: 4}
	if c.Follow != want {
		t.Errorf("got %+v, want %+v", c.Follow, want)
	}
	for _, bad := range []string{
		`{"follow":{"heartbeatSeconds":0}}`,
		`{"follow":{"cgiSeconds":-1}}`,
		`{"follow":{"pollSeconds":61}}`,
		`{"follow":{"heartbeat":15}}`,
	} {
		_, err := Parse([]byte(bad), "/base")
		if err == nil || !strings.Contains(err.Error(), "follow") && !strings.Contains(err.Error(), "heartbeat") {
			t.Errorf("%s: got %v, want an error naming the key", bad, err)
		}
	}
}
