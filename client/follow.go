package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FollowParams say where a follow starts and what it keeps.
type FollowParams struct {
	// After starts after this event; "head" starts at the current head
	// (only new events); "" starts at the first event.
	After string
	// EventTypes keeps only events of these types; nil keeps all.
	EventTypes []string
}

// The kinds of FollowMessage.
const (
	KindEvent     = "event"
	KindCaughtUp  = "caughtUp"
	KindHeartbeat = "heartbeat"
	KindEnd       = "end"
)

// FollowMessage is one line of a follow: a stored event, or what the
// server says about the follow (caughtUp, heartbeat, end).
type FollowMessage struct {
	Kind  string
	Event Event  // KindEvent
	Head  string // KindCaughtUp: the head the replay reached
	Count uint64 // KindCaughtUp: events in the log then
	After string // KindEnd: where the next follow resumes
}

// Follow sends the events the params choose, then each new one as it is
// stored, until ctx ends or an error. It reads the NDJSON follow of
// GET /events?follow=true; when the server ends a response (its time
// budget under CGI, a restart), Follow yields the end and connects again
// after the event it names, so the caller sees every event once, in
// order. An error ends the iteration after it is yielded; the caller may
// follow again after the last event it saw.
//
//	for m, err := range c.Follow(ctx, client.FollowParams{After: "head"}) {
//		if err != nil {
//			return err
//		}
//		if m.Kind == client.KindEvent {
//			…m.Event…
//		}
//	}
func (c *Client) Follow(ctx context.Context, p FollowParams) iter.Seq2[FollowMessage, error] {
	return func(yield func(FollowMessage, error) bool) {
		after := p.After
		for {
			end, ok := c.followOnce(ctx, p.EventTypes, after, yield)
			if !ok {
				return
			}
			after = end
		}
	}
}

// followOnce reads one follow response. It returns where to resume and
// true after an end line; false when the iteration is over.
func (c *Client) followOnce(ctx context.Context, types []string, after string, yield func(FollowMessage, error) bool) (string, bool) {
	q := url.Values{"follow": {"true"}}
	if after != "" {
		q.Set("after", after)
	}
	if len(types) > 0 {
		q.Set("eventType", strings.Join(types, ","))
	}
	ref := "/events?" + q.Encode()
	req, err := c.NewRequest(ctx, http.MethodGet, ref, nil)
	if err != nil {
		yield(FollowMessage{}, err)
		return "", false
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.hc.Do(req)
	if err != nil {
		yield(FollowMessage{}, fmt.Errorf("apie client: GET %s: %w", ref, err))
		return "", false
	}
	if err := errorOf(req, resp); err != nil {
		yield(FollowMessage{}, err)
		return "", false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := parseFollowLine(line)
		if err != nil {
			yield(FollowMessage{}, fmt.Errorf("apie client: GET %s: %w", ref, err))
			return "", false
		}
		if !yield(m, nil) {
			return "", false
		}
		if m.Kind == KindEnd {
			return m.After, true
		}
	}
	err = sc.Err()
	if err == nil {
		err = errors.New("the server closed the follow without an end line")
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	yield(FollowMessage{}, fmt.Errorf("apie client: GET %s: %w", ref, err))
	return "", false
}

// parseFollowLine reads one NDJSON line of a follow: an event has a hash
// member; anything else is a control line {"apie": kind, …}.
func parseFollowLine(line []byte) (FollowMessage, error) {
	var probe struct {
		Apie  string  `json:"apie"`
		Hash  *string `json:"hash"`
		Head  string  `json:"head"`
		Count uint64  `json:"count"`
		After string  `json:"after"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return FollowMessage{}, fmt.Errorf("follow line: %w", err)
	}
	if probe.Hash != nil {
		e, err := decodeEvent(line)
		if err != nil {
			return FollowMessage{}, err
		}
		return FollowMessage{Kind: KindEvent, Event: e}, nil
	}
	switch probe.Apie {
	case KindCaughtUp, KindHeartbeat, KindEnd:
		return FollowMessage{Kind: probe.Apie, Head: probe.Head, Count: probe.Count, After: probe.After}, nil
	}
	return FollowMessage{}, fmt.Errorf("follow line: neither an event nor a known control line: %.80q", line)
}

// Wait returns the events after the event after (Genesis or "" for the
// start) that are of one of types (nil: any), as soon as there is at
// least one, or none after wait (a long-poll: GET /events?wait=N).
func (c *Client) Wait(ctx context.Context, after string, wait time.Duration, types []string) ([]Event, error) {
	q := url.Values{"wait": {strconv.Itoa(int(wait / time.Second))}}
	if after != "" {
		q.Set("after", after)
	}
	if len(types) > 0 {
		q.Set("eventType", strings.Join(types, ","))
	}
	h := http.Header{"Accept": {"application/x-ndjson"}}
	a, err := c.send(ctx, request{method: http.MethodGet, ref: "/events?" + q.Encode(), header: h, retry: true})
	if err != nil {
		return nil, err
	}
	var evs []Event
	for line := range bytes.Lines(a.body) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e, err := decodeEvent(line)
		if err != nil {
			return nil, fmt.Errorf("apie client: wait: line %d: %w", len(evs)+1, err)
		}
		evs = append(evs, e)
	}
	return evs, nil
}
