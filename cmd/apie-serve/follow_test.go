package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// follower opens GET /events?follow=true on s with accept, and returns
// its lines; the body closes with the test.
func follower(t *testing.T, s *server, userpass, accept string) <-chan string {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL+"/events?follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, p, _ := strings.Cut(userpass, ":")
	req.SetBasicAuth(u, p)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// until reads lines until one contains want, within 20 s.
func until(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("the follow ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q within 20 s", want)
		}
	}
}

// TestStopEndsFollowers: SIGTERM sends open followers (NDJSON and SSE)
// their end line, and the stop does not wait for them: the server exits
// cleanly long before its 30 s limit for requests in flight.
func TestStopEndsFollowers(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	addUser(t, dir, cfg, "f@example.com", "secret")
	const userpass = "f@example.com:secret"
	s := start(t, dir, "-config", cfg)
	if code, _ := call(t, "POST", s.URL+"/events", userpass, `{"eventType":"t","body":1}`); code != 201 {
		t.Fatalf("append: %d", code)
	}
	nd := follower(t, s, userpass, "application/x-ndjson")
	sse := follower(t, s, userpass, "text/event-stream")
	until(t, nd, `"apie":"caughtUp"`)
	until(t, sse, "event: caughtUp")
	began := time.Now()
	s.Shutdown(t)
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("the stop took %v with followers open, want them not to hold it up", d)
	}
	until(t, nd, `"apie":"end"`)
	until(t, sse, "event: end")
}

// TestAccessTokenNotLogged: a bearer token sent as access_token= works
// on GET and appears nowhere in apie-serve's log, request lines included.
func TestAccessTokenNotLogged(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	addUser(t, dir, cfg, "f@example.com", "secret")
	const userpass = "f@example.com:secret"
	s := start(t, dir, "-config", cfg)
	code, body := call(t, "POST", s.URL+"/auth/token", userpass, "")
	var tok struct {
		Token string `json:"token"`
	}
	if code != 200 || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		t.Fatalf("token: %d %s", code, body)
	}
	q := url.QueryEscape(tok.Token)
	for _, c := range []struct {
		target string
		want   int
	}{
		{"/events?access_token=" + q, 200},
		{"/events?wait=0&access_token=" + q, 200},
		{"/events?access_token=" + q + "x", 401},
		{"/events?limit=x&access_token=" + q, 400},
	} {
		if code, body := call(t, "GET", s.URL+c.target, "", ""); code != c.want {
			t.Errorf("GET %s: %d %s, want %d", c.target, code, body, c.want)
		}
	}
	s.Shutdown(t)
	out := s.Output.String()
	if !strings.Contains(out, `msg=request method=GET path=/events`) {
		t.Fatalf("no request lines in the log:\n%s", out)
	}
	if strings.Contains(out, tok.Token) || strings.Contains(out, q) || strings.Contains(out, "access_token") {
		t.Errorf("the token is in the log:\n%s", out)
	}
}

// TestFollowAcrossServers: a follower of one apie-serve is woken by an
// append through a second apie-serve on the same directory, with the
// kernel watch and with it forced off (follow.poll).
func TestFollowAcrossServers(t *testing.T) {
	for _, tc := range []struct{ name, conf string }{
		{"inotify", `{"auth":{"bcryptCost":4}}`},
		{"poll", `{"auth":{"bcryptCost":4},"follow":{"poll":true,"pollSeconds":1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "apie.json")
			if err := os.WriteFile(cfg, []byte(tc.conf), 0o600); err != nil {
				t.Fatal(err)
			}
			addUser(t, dir, cfg, "f@example.com", "secret")
			const userpass = "f@example.com:secret"
			a := start(t, dir, "-config", cfg)
			b := start(t, dir, "-config", cfg)
			lines := follower(t, a, userpass, "application/x-ndjson")
			until(t, lines, `"apie":"caughtUp"`)
			if code, _ := call(t, "POST", b.URL+"/events", userpass, `{"eventType":"from.b","body":1}`); code != 201 {
				t.Fatalf("append through the second server: %d", code)
			}
			until(t, lines, `"eventType":"from.b"`)
			if polled := strings.Contains(a.Output.String(), "polling, as configured"); polled != (tc.name == "poll") {
				t.Errorf("the follower's server polled: %v, want %v\n%s", polled, tc.name == "poll", a.Output)
			}
			a.Shutdown(t)
			b.Shutdown(t)
		})
	}
}
