package handler_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/auth"
	"apie/consumerstore"
	"apie/event"
	"apie/eventlog"
	"apie/handler"
	"apie/store"
)

// liveFixture is the handler as apie wires it for live reads: a file
// event log, its Notifier, basic auth, behind a real net/http server.
type liveFixture struct {
	h      *handler.Handler
	srv    *httptest.Server
	dir    string // the event log's directory
	log    *eventlog.EventLog
	auth   string
	logBuf *syncBuffer // the handler's log
	// consumers is the handler's consumer store.
	consumers *consumerstore.Store
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const liveUser, livePassword = "live@example.com", "live password"

func newLiveFixture(t *testing.T, live handler.LiveOptions, notify eventlog.NotifyOptions) *liveFixture {
	t.Helper()
	return newLiveFixtureServing(t, live, notify, nil)
}

// newLiveFixtureServing is newLiveFixture whose handler sees the log
// through serve (nil: as it is), and keeps consumers in a store of its
// own.
func newLiveFixtureServing(t *testing.T, live handler.LiveOptions, notify eventlog.NotifyOptions, serve func(*eventlog.EventLog) store.EventLog) *liveFixture {
	t.Helper()
	dir := t.TempDir()
	hash, err := auth.HashPassword(livePassword, 4)
	if err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(liveUser+":"+hash+":\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checker, err := auth.NewChecker(auth.Options{PasswdPath: passwd, BcryptCost: 4, Cache: true, TokenKeyPath: filepath.Join(dir, "token.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checker.Close() })
	fx := &liveFixture{dir: filepath.Join(dir, "events"), logBuf: &syncBuffer{}}
	fx.log, err = eventlog.OpenEventLog(context.Background(), eventlog.LogOptions{Dir: fx.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.log.Close() })
	n := eventlog.NewNotifier(fx.dir, notify)
	t.Cleanup(func() { n.Close() })
	if live.Wake == nil {
		live.Wake = n.Changed
	}
	var served store.EventLog = fx.log
	if serve != nil {
		served = serve(fx.log)
	}
	consumers, err := consumerstore.Open(consumerstore.Options{Dir: filepath.Join(dir, "consumers")})
	if err != nil {
		t.Fatal(err)
	}
	fx.consumers = consumers
	fx.h = handler.New(handler.Options{
		Version:       "test",
		OpenLog:       func(context.Context) (store.EventLog, error) { return served, nil },
		OpenConsumers: func(context.Context) (store.ConsumerStore, error) { return consumers, nil },
		OpenBlobs:     func(context.Context) (store.BlobStore, error) { return nil, fmt.Errorf("no blobs here") },
		Auth:          checker,
		Limits:        event.DefaultLimits,
		Logger:        slog.New(slog.NewTextHandler(fx.logBuf, nil)),
		Live:          live,
	})
	fx.srv = httptest.NewServer(fx.h)
	t.Cleanup(fx.srv.Close)
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(liveUser, livePassword)
	fx.auth = req.Header.Get("Authorization")
	return fx
}

// appendN appends n events of type typ through a log of its own on the
// same directory (as another process would), returning their hashes.
func (fx *liveFixture) appendN(t *testing.T, other *eventlog.EventLog, typ string, n int) []string {
	t.Helper()
	var hashes []string
	for i := range n {
		d := event.Draft{EventID: event.NewUUID(), EventType: typ, Body: []byte(fmt.Sprintf(`{"n":%d}`, i))}
		res, err := other.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: liveUser})
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		hashes = append(hashes, res.Events[0].Hash.String())
	}
	return hashes
}

// otherLog opens the fixture's log directory a second time.
func (fx *liveFixture) otherLog(t *testing.T) *eventlog.EventLog {
	t.Helper()
	l, err := eventlog.OpenEventLog(context.Background(), eventlog.LogOptions{Dir: fx.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// open starts a GET with the fixture's credentials; the body stays open.
func (fx *liveFixture) open(t *testing.T, ctx context.Context, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", fx.srv.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", fx.auth)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// lineReader reads a follow's lines one at a time, each within a bound.
type lineReader struct {
	t  *testing.T
	ch chan string
}

func newLineReader(t *testing.T, r io.Reader) *lineReader {
	lr := &lineReader{t: t, ch: make(chan string, 1024)}
	go func() {
		defer close(lr.ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			lr.ch <- sc.Text()
		}
	}()
	return lr
}

// next returns the next line; the bound is generous, for a loaded machine.
func (lr *lineReader) next() string {
	lr.t.Helper()
	select {
	case l, ok := <-lr.ch:
		if !ok {
			lr.t.Fatal("the response ended")
		}
		return l
	case <-time.After(20 * time.Second):
		lr.t.Fatal("no line within 20 s")
	}
	return ""
}

// nextJSON returns the next line decoded.
func (lr *lineReader) nextJSON() map[string]any {
	lr.t.Helper()
	line := lr.next()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		lr.t.Fatalf("line %q: %v", line, err)
	}
	return m
}

// ended reports whether the response ends (no more lines) within 20 s.
func (lr *lineReader) ended() bool {
	select {
	case l, ok := <-lr.ch:
		if ok {
			lr.t.Errorf("unexpected line %q", l)
		}
		return !ok
	case <-time.After(20 * time.Second):
		return false
	}
}

func wantControl(t *testing.T, m map[string]any, kind string) {
	t.Helper()
	if m["apie"] != kind || m["hash"] != nil {
		t.Fatalf("got %v, want an %q line", m, kind)
	}
}

func wantEvent(t *testing.T, m map[string]any, hash string) {
	t.Helper()
	if m["hash"] != hash {
		t.Fatalf("got %v, want the event %s", m, hash)
	}
}

var _ = strings.Contains

// appendBody appends one event with the given JSON body.
func appendBody(t *testing.T, l *eventlog.EventLog, body string) {
	t.Helper()
	d := event.Draft{EventID: event.NewUUID(), EventType: "big", Body: []byte(body)}
	if _, err := l.Append(context.Background(), store.AppendRequest{Drafts: []event.Draft{d}, CreatedBy: liveUser}); err != nil {
		t.Fatalf("append: %v", err)
	}
}
