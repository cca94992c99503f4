package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"apie/event"
	"apie/sum"
)

// The power-loss workloads of consumer moves and erasures, and their
// checks after a reboot.

// powerConsumers is how many consumers the movers share (each move holds
// one, so moves of a consumer never race each other).
const powerConsumers = 6

// A powerMove is what was acknowledged and attempted of one consumer.
type powerMove struct {
	name      string
	busy      bool
	created   bool   // a move was acknowledged (or the consumer was seen)
	acked     uint64 // the highest seq an acknowledged move (or a check) put it at
	attempted uint64 // the highest seq a move asked for
}

// A powerMoves is the movers' ledger.
type powerMoves struct {
	mu    sync.Mutex
	cs    []*powerMove
	acked int // acknowledged moves
}

func newPowerMoves() *powerMoves {
	m := &powerMoves{}
	for i := range powerConsumers {
		m.cs = append(m.cs, &powerMove{name: fmt.Sprintf("power-%d", i)})
	}
	return m
}

// take returns a consumer no other mover holds, or nil.
func (m *powerMoves) take() *powerMove {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, i := range rand.Perm(len(m.cs)) {
		if c := m.cs[i]; !c.busy {
			c.busy = true
			return c
		}
	}
	return nil
}

func (m *powerMoves) release(c *powerMove) {
	m.mu.Lock()
	c.busy = false
	m.mu.Unlock()
}

// powerTop is the acknowledged event of the highest seq: where movers
// move their consumers.
type powerTop struct {
	seq  uint64
	hash sum.Hash
}

// noteEvents records acknowledged events for the movers (the newest) and
// the erasers (each with the random pad of its body, which an erase must
// remove from the log file).
func (l *powerLedger) noteEvents(evs []event.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range evs {
		if ev.Seq > l.top.seq {
			l.top = powerTop{seq: ev.Seq, hash: ev.Hash}
		}
		var body struct {
			Pad string `json:"pad"`
		}
		if json.Unmarshal(ev.Body, &body) == nil && body.Pad != "" {
			l.erases.todo = append(l.erases.todo, powerErasable{hash: ev.Hash, secret: body.Pad})
		}
	}
}

// writeMove moves one consumer forward to the newest acknowledged event
// (creating it on its first move).
func writeMove(d doer, led *powerLedger, dead func() bool) error {
	m := led.moves
	c := m.take()
	if c == nil {
		time.Sleep(5 * time.Millisecond)
		return nil
	}
	defer m.release(c)
	led.mu.Lock()
	top := led.top
	led.mu.Unlock()
	m.mu.Lock()
	idle := top.seq == 0 || top.seq <= max(c.acked, c.attempted)
	if !idle {
		c.attempted = top.seq
	}
	m.mu.Unlock()
	if idle {
		time.Sleep(5 * time.Millisecond)
		return nil
	}
	res, err := d.do("PUT", "/consumers/"+c.name, []byte(`{"after":"`+top.hash.String()+`"}`), map[string]string{"Content-Type": "application/json"})
	if err == nil && (res.status == http.StatusOK || res.status == http.StatusCreated) {
		var st consumerState
		if err := json.Unmarshal(res.body, &st); err != nil || st.Seq != int(top.seq) || st.After == nil || *st.After != top.hash.String() {
			return fmt.Errorf("PUT /consumers/%s to seq %d (%s): answered %s (%v)", c.name, top.seq, top.hash, res.body, err)
		}
		m.mu.Lock()
		c.created, c.acked = true, max(c.acked, top.seq)
		m.acked++
		m.mu.Unlock()
		return nil
	}
	if dead() {
		return nil // the move may or may not be on disk: the check allows both
	}
	if err != nil {
		return fmt.Errorf("PUT /consumers/%s: %w", c.name, err)
	}
	return fmt.Errorf("PUT /consumers/%s to seq %d: status %d, want 200 or 201: %s", c.name, top.seq, res.status, res.body)
}

// checkMoves reads every consumer back: one whose move was acknowledged is
// there, each is whole and at an event of the log with its seq, no older
// than its last acknowledged move nor newer than its last attempted one;
// GET /consumers lists them all. The position found becomes the
// consumer's acknowledged one (it is what the disk holds now).
func (rig *powerRig) checkMoves(d doer, log map[sum.Hash]event.Event) error {
	m := rig.led.moves
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := 0
	for _, c := range m.cs {
		res, err := d.do("GET", "/consumers/"+c.name, nil, nil)
		if err != nil {
			return fmt.Errorf("GET /consumers/%s: %w", c.name, err)
		}
		if res.status == http.StatusNotFound && !c.created {
			continue // never acknowledged, and its creation did not survive
		}
		if res.status != http.StatusOK {
			return fmt.Errorf("GET /consumers/%s (created %v, acknowledged at seq %d): status %d: %s", c.name, c.created, c.acked, res.status, res.body)
		}
		var st consumerState
		if err := json.Unmarshal(res.body, &st); err != nil {
			return fmt.Errorf("GET /consumers/%s: %w: %s", c.name, err, res.body)
		}
		if st.After == nil {
			return fmt.Errorf("consumer %s before the first event, never moved there: %s", c.name, res.body)
		}
		h, err := sum.Parse(*st.After)
		if err != nil {
			return fmt.Errorf("consumer %s: after %q: %w", c.name, *st.After, err)
		}
		if ev, ok := log[h]; !ok || ev.Seq != uint64(st.Seq) {
			return fmt.Errorf("consumer %s at seq %d after %s, which is not that event of the log (a torn or lost position)", c.name, st.Seq, h)
		}
		if seq := uint64(st.Seq); seq < c.acked || seq > c.attempted {
			return fmt.Errorf("consumer %s at seq %d; acknowledged up to %d, attempted up to %d", c.name, seq, c.acked, c.attempted)
		}
		c.created, c.acked = true, uint64(st.Seq)
		seen++
	}
	res, err := d.do("GET", "/consumers", nil, nil)
	if err != nil {
		return fmt.Errorf("GET /consumers: %w", err)
	}
	var list []consumerState
	if res.status == http.StatusOK {
		var wrapped struct {
			Consumers []consumerState `json:"consumers"`
		}
		if json.Unmarshal(res.body, &list) != nil {
			if err := json.Unmarshal(res.body, &wrapped); err != nil {
				return fmt.Errorf("GET /consumers: %w: %s", err, res.body)
			}
			list = wrapped.Consumers
		}
	}
	if res.status != http.StatusOK || len(list) != seen {
		return fmt.Errorf("GET /consumers: status %d, %d consumers, want %d: %s", res.status, len(list), seen, res.body)
	}
	return nil
}

// A powerErasable is an acknowledged event the erasers may erase, and the
// random text of its body.
type powerErasable struct {
	hash   sum.Hash
	secret string
}

// powerErases is the erasers' ledger.
type powerErases struct {
	todo   []powerErasable            // acknowledged events not yet asked to be erased
	erased map[sum.Hash]string        // acknowledged erases -> the erased body's text
	lost   map[sum.Hash]powerErasable // erases sent without an answer
	acked  int
}

func newPowerErases() *powerErases {
	return &powerErases{erased: make(map[sum.Hash]string), lost: make(map[sum.Hash]powerErasable)}
}

// writeErase erases a random acknowledged event (an admin's POST
// /events/<hash>/erase).
func writeErase(d doer, led *powerLedger, dead func() bool) error {
	led.mu.Lock()
	e := led.erases
	if len(e.todo) == 0 {
		led.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		return nil
	}
	i := rand.IntN(len(e.todo))
	target := e.todo[i]
	e.todo[i] = e.todo[len(e.todo)-1]
	e.todo = e.todo[:len(e.todo)-1]
	led.mu.Unlock()
	res, err := d.do("POST", "/events/"+target.hash.String()+"/erase", []byte(`{"reason":"power-loss test"}`), map[string]string{"Content-Type": "application/json"})
	if err == nil && res.status == http.StatusOK {
		return led.ackErase(target, res)
	}
	if dead() {
		led.mu.Lock()
		e.lost[target.hash] = target
		led.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("POST /events/%s/erase: %w", target.hash, err)
	}
	return fmt.Errorf("POST /events/%s/erase: status %d, want 200: %s", target.hash, res.status, res.body)
}

// ackErase checks an erase's answer (its tombstone) and records it.
func (l *powerLedger) ackErase(target powerErasable, res response) error {
	evs, err := decodeErasable(res.body)
	if err != nil {
		return fmt.Errorf("erase %s: %w", target.hash, err)
	}
	if ts, ok := event.ParseTombstone(&evs[0]); !ok || ts.Erased != target.hash {
		return fmt.Errorf("erase %s: the answer is not its tombstone: %s", target.hash, res.body)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.erases.erased[target.hash] = target.secret
	l.erases.acked++
	return nil
}

// checkErases retries the erases whose answer was lost (200: done now or
// found done), then reads the log file itself: whole records only, every
// erased record named by its tombstone and every tombstone's event erased,
// every acknowledged erase's event erased and its body's text nowhere in
// the file; and POST /events/verify passes, counting exactly the
// tombstones.
func (rig *powerRig) checkErases(d doer) error {
	led := rig.led
	led.mu.Lock()
	lost := led.erases.lost
	led.erases.lost = make(map[sum.Hash]powerErasable)
	led.mu.Unlock()
	for h, target := range lost {
		res, err := d.do("POST", "/events/"+h.String()+"/erase", []byte(`{"reason":"retry"}`), map[string]string{"Content-Type": "application/json"})
		if err != nil || res.status != http.StatusOK {
			led.mu.Lock()
			for h, target := range lost {
				led.erases.lost[h] = target // retried after the next reboot
			}
			led.mu.Unlock()
			if err != nil {
				return fmt.Errorf("retry of an unanswered erase: %w", err)
			}
			return fmt.Errorf("retry of an unanswered erase of %s: status %d, want 200: %s", h, res.status, res.body)
		}
		if err := led.ackErase(target, res); err != nil {
			return err
		}
		delete(lost, h)
	}
	raw, err := os.ReadFile(rig.s.path("events", "log"))
	if err != nil {
		return err
	}
	log, err := checkChain(raw)
	if err != nil {
		return fmt.Errorf("the log file: %w", err)
	}
	tombstones := 0
	for _, ev := range log {
		if ev.EventType == event.ErasedType {
			tombstones++
		}
	}
	led.mu.Lock()
	for h, secret := range led.erases.erased {
		if ev := log[h]; !ev.Erased() {
			led.mu.Unlock()
			return fmt.Errorf("acknowledged erase of %s: the event is not erased in the log file: %s", h, ev.Body)
		}
		if bytes.Contains(raw, []byte(secret)) {
			led.mu.Unlock()
			return fmt.Errorf("acknowledged erase of %s: its body is still in the log file", h)
		}
	}
	led.mu.Unlock()
	res, err := d.do("POST", "/events/verify", nil, nil)
	if err != nil {
		return fmt.Errorf("POST /events/verify: %w", err)
	}
	var rep struct {
		Status string `json:"status"`
		Erased int    `json:"erased"`
	}
	if err := json.Unmarshal(res.body, &rep); res.status != http.StatusOK || err != nil || rep.Status != "ok" || rep.Erased != tombstones {
		return fmt.Errorf("POST /events/verify: %d %s, want ok with %d erased", res.status, res.body, tombstones)
	}
	return nil
}

// decodeErasable is decodeEvents for answers that may hold erased events
// (body null, no bodySalt): each is verified by the hash rule as far as
// an erased event can be; whether its erasure is legitimate (a tombstone
// names it) is checkChain's to say, on the whole log.
func decodeErasable(body []byte) ([]event.Event, error) {
	body = bytes.TrimSpace(body)
	var raws []json.RawMessage
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("decode answer: %w", err)
		}
	} else {
		raws = []json.RawMessage{body}
	}
	evs := make([]event.Event, len(raws))
	for i, raw := range raws {
		ev, _, err := event.VerifyErasable(raw)
		if err != nil {
			return nil, fmt.Errorf("answer event %d: %w", i, err)
		}
		evs[i] = ev
	}
	return evs, nil
}
