package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamWriter appends to a stream of its own with expectedVersion and
// remembers what was acknowledged. After a lost answer it does not know
// its version until it asks (HEAD), as a real client would.
type streamWriter struct {
	stream  string
	mu      sync.Mutex
	acked   map[string]uint64 // hash -> streamSeq, acknowledged
	version int64             // -1: unknown
}

// appendUntilDead appends until a request fails (the server was killed).
func (w *streamWriter) appendUntilDead(ctx context.Context, c *client) error {
	for ctx.Err() == nil {
		if w.version < 0 {
			res, err := c.do("HEAD", "/events?stream="+w.stream, nil, nil)
			if err != nil {
				return nil
			}
			v, err := strconv.ParseInt(res.header.Get("X-Apie-Count"), 10, 64)
			if res.status != http.StatusOK || err != nil {
				return fmt.Errorf("HEAD %s: status %d, count %q", w.stream, res.status, res.header.Get("X-Apie-Count"))
			}
			w.version = v
		}
		n := 1 + randInt(3)
		var evs []string
		for i := range n {
			evs = append(evs, fmt.Sprintf(`{"eventType":"k","body":%d,"stream":%q,"expectedVersion":%d}`, i, w.stream, w.version+int64(i)))
		}
		res, err := c.do("POST", "/events", []byte("["+strings.Join(evs, ",")+"]"), nil)
		if err != nil {
			w.version = -1
			return nil
		}
		if res.status != http.StatusCreated {
			return fmt.Errorf("POST to %s at version %d: status %d, want 201: %s", w.stream, w.version, res.status, res.body)
		}
		got, err := decodeEvents(res.body)
		if err != nil {
			return err
		}
		w.mu.Lock()
		for _, e := range got {
			w.acked[e.Hash.String()] = e.StreamSeq
		}
		w.mu.Unlock()
		w.version += int64(n)
	}
	return nil
}

// check reads the stream back: numbered 1..version without a gap, HEAD
// agreeing, every acknowledged event there at its streamSeq.
func (w *streamWriter) check(t testing.TB, c *client) {
	t.Helper()
	res := c.must(t, "GET", "/events?stream="+w.stream, nil, nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", w.stream, res.status, res.body)
	}
	evs, err := decodeEvents(res.body)
	if err != nil {
		t.Fatal(err)
	}
	at := map[string]uint64{}
	for i, e := range evs {
		if e.Stream != w.stream || e.StreamSeq != uint64(i+1) {
			t.Fatalf("%s: event %d is %s #%d", w.stream, i+1, e.Stream, e.StreamSeq)
		}
		at[e.Hash.String()] = e.StreamSeq
	}
	head := c.must(t, "HEAD", "/events?stream="+w.stream, nil, nil)
	if got := head.header.Get("X-Apie-Count"); got != strconv.Itoa(len(evs)) {
		t.Fatalf("HEAD %s: count %s, the stream reads %d events", w.stream, got, len(evs))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for h, seq := range w.acked {
		if at[h] != seq {
			t.Fatalf("%s: acknowledged event %s (#%d) is not in the stream", w.stream, h, seq)
		}
	}
}

// TestKillServeStreams kills apie-serve with SIGKILL while four clients
// append to streams of their own with expectedVersion, and between some
// rounds deletes or damages the stream index: after every restart each
// stream reads back numbered 1, 2, 3… with every acknowledged event, its
// HEAD count agrees, a lost index is rebuilt with a log line, and the
// store verifies.
func TestKillServeStreams(t *testing.T) {
	rounds := killRounds()
	r := newRow(t, rowKillStreams,
		fmt.Sprintf("%d rounds: 4 clients appending to their own streams with expectedVersion, SIGKILL at a random moment, restart; every third round stream.idx or streams.idx deleted or its header damaged first", rounds))
	s := newStore(t, t.TempDir(), storeOptions{})
	var ws []*streamWriter
	for i := range 4 {
		ws = append(ws, &streamWriter{stream: fmt.Sprintf("/kill/%d", i), acked: map[string]uint64{}, version: -1})
	}
	rebuilt := 0
	for round := 0; round <= rounds; round++ {
		damage := round > 0 && round%3 == 0
		if damage {
			name := []string{"stream.idx", "streams.idx"}[round/3%2]
			if round/3%4 >= 2 {
				f, err := os.OpenFile(s.path("events", name), os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteAt([]byte("junk"), 0)
				f.Close()
			} else if err := os.Remove(s.path("events", name)); err != nil {
				t.Fatal(err)
			}
		}
		srv := s.start(t, serverOptions{})
		c := srv.client(alice, alicePW)
		for _, w := range ws {
			w.check(t, c)
		}
		if damage {
			if !strings.Contains(srv.Output.String(), "rebuilding stream index from the log") {
				t.Fatalf("round %d: the rebuild was not logged:\n%s", round, srv.Output)
			}
			rebuilt++
		}
		if round == rounds {
			srv.Shutdown(t)
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, len(ws))
		for _, w := range ws {
			wg.Go(func() { errs <- w.appendUntilDead(ctx, c) })
		}
		time.Sleep(time.Duration(50+randInt(250)) * time.Millisecond)
		alive := srv.Kill()
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if !alive {
			t.Fatalf("round %d: apie-serve died before it was killed: %v\n%s", round, srv.Err(), srv.Output)
		}
		c.close()
	}
	s.mustVerify(t)
	acked := 0
	for _, w := range ws {
		acked += len(w.acked)
	}
	if acked == 0 {
		t.Fatal("nothing was acknowledged: the test did not test")
	}
	r.pass(rounds, fmt.Sprintf("all %d acknowledged stream events read back in their streams, numbered without a gap; %d lost or damaged stream indexes rebuilt; `apie-serve verify` exit 0", acked, rebuilt))
}
