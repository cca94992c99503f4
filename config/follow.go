package config

import "fmt"

// Follow configures live reads (GET /events?follow=true, wait=N).
type Follow struct {
	// HeartbeatSeconds is the quiet time after which a follower is sent
	// a heartbeat.
	HeartbeatSeconds int `json:"heartbeatSeconds"`
	// CGISeconds is how long apie-cgi follows before it ends the response
	// with an end line, so clients reconnect before the web server's own
	// timeout.
	CGISeconds int `json:"cgiSeconds"`
	// WriteTimeoutSeconds cuts off (apie-serve) a follower that takes no
	// bytes for this long.
	WriteTimeoutSeconds int `json:"writeTimeoutSeconds"`
	// Poll turns the kernel's change notification (inotify) off: followers
	// look at the log every PollSeconds instead.
	Poll        bool `json:"poll"`
	PollSeconds int  `json:"pollSeconds"`
}

// The largest wait=N of a long-poll: under CGI the web server's timeout
// (Apache's default is 60 s) must not cut the answer.
const (
	MaxWaitCGISeconds    = 55
	MaxWaitServerSeconds = 300
)

var defaultFollow = Follow{HeartbeatSeconds: 15, CGISeconds: 50, WriteTimeoutSeconds: 30, PollSeconds: 1}

// followFile is the follow section as written.
type followFile struct {
	HeartbeatSeconds    *int  `json:"heartbeatSeconds"`
	CGISeconds          *int  `json:"cgiSeconds"`
	WriteTimeoutSeconds *int  `json:"writeTimeoutSeconds"`
	Poll                *bool `json:"poll"`
	PollSeconds         *int  `json:"pollSeconds"`
}

// parseFollow checks the follow section and sets dst from it.
func parseFollow(f *followFile, dst *Follow) []error {
	if f == nil {
		return nil
	}
	var errs []error
	seconds := func(dst *int, src *int, key string, min, max int) {
		if src == nil {
			return
		}
		if *src < min || *src > max {
			errs = append(errs, fmt.Errorf("follow.%s: must be %d..%d seconds, got %d", key, min, max, *src))
			return
		}
		*dst = *src
	}
	seconds(&dst.HeartbeatSeconds, f.HeartbeatSeconds, "heartbeatSeconds", 1, 3600)
	seconds(&dst.CGISeconds, f.CGISeconds, "cgiSeconds", 1, 3600)
	seconds(&dst.WriteTimeoutSeconds, f.WriteTimeoutSeconds, "writeTimeoutSeconds", 1, 3600)
	seconds(&dst.PollSeconds, f.PollSeconds, "pollSeconds", 1, 60)
	if f.Poll != nil {
		dst.Poll = *f.Poll
	}
	return errs
}
