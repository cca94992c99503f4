package faults

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"apie/event"
	"apie/sum"
)

// The workloads of the power-loss tests and the checks after a reboot.

// A doer sends one request to apie: *client (apie-serve over HTTP) and
// cgiDoer (one apie-cgi process per request) are doers.
type doer interface {
	do(method, path string, body []byte, header map[string]string) (response, error)
}

// cgiDoer runs each request as an apie-cgi process on s, with env added;
// ending ctx kills the processes still running.
type cgiDoer struct {
	ctx context.Context
	s   *store
	env []string
}

func (c cgiDoer) do(method, path string, body []byte, header map[string]string) (response, error) {
	path, query, _ := strings.Cut(path, "?")
	req := cgiAs(cgiRequest{method: method, pathInfo: path, query: query, body: body, header: header, env: c.env})
	cmd := c.s.cgiCmd(c.ctx, req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return response{}, fmt.Errorf("apie-cgi %s %s: %v\nstderr: %s", method, path, err, stderr.String())
	}
	res, err := parseCGI(stdout.Bytes())
	if err != nil {
		return response{}, fmt.Errorf("apie-cgi %s %s: %w\nstderr: %s", method, path, err, stderr.String())
	}
	return res, nil
}

// A powerLedger is a ledger that also remembers the append bodies and
// blobs acknowledged since the last check, so that the check can retry
// those appends (they must answer 200: found through the eventId index)
// and fetch those blobs even when it samples.
type powerLedger struct {
	*ledger
	mu           sync.Mutex
	recent       [][]byte
	recentHashes []sum.Hash
	recentBlobs  []string
	top          powerTop     // the newest acknowledged event, for the movers
	moves        *powerMoves  // consumers (its own lock)
	erases       *powerErases // guarded by mu
}

func newPowerLedger() *powerLedger {
	return &powerLedger{ledger: newLedger(), moves: newPowerMoves(), erases: newPowerErases()}
}

// A powerWorkload is one kind of write apie acknowledges: its writers
// write until the power is cut, and the checks after each reboot find
// all of it: events (single and batches), blobs, consumer moves and
// erasures, each a write and (beyond the log and blob checks every
// workload shares) a check of its own.
type powerWorkload struct {
	name    string
	writers int
	// write makes one write through d and records it in led if apie
	// acknowledged it (2xx), or as lost if the answer never came. It
	// fails only on what is wrong with the power on (dead false).
	write func(d doer, led *powerLedger, dead func() bool) error
	// check, if set, checks this workload's writes after a reboot, given
	// the log as GET /events read it (chain verified).
	check func(rig *powerRig, d doer, log map[sum.Hash]event.Event) error
}

var powerWorkloads = []powerWorkload{
	{name: "events and batches", writers: 3, write: writeEvents},
	{name: "blobs", writers: 1, write: writeBlob},
	{name: "consumer moves", writers: 2, write: writeMove,
		check: func(rig *powerRig, d doer, log map[sum.Hash]event.Event) error { return rig.checkMoves(d, log) }},
	{name: "erasures", writers: 1, write: writeErase,
		check: func(rig *powerRig, d doer, _ map[sum.Hash]event.Event) error { return rig.checkErases(d) }},
}

// writeEvents appends 1–5 events, as one event or a batch.
func writeEvents(d doer, led *powerLedger, dead func() bool) error {
	n := 1 + randInt(5)
	body := appendBody(n, n > 1 || randInt(2) == 0, 64)
	res, err := d.do("POST", "/events", body, map[string]string{"Content-Type": "application/json"})
	if err == nil && res.status == http.StatusCreated {
		evs, err := decodeEvents(res.body)
		if err != nil {
			return err
		}
		led.mu.Lock()
		led.recent = append(led.recent, body)
		for _, ev := range evs {
			led.recentHashes = append(led.recentHashes, ev.Hash)
		}
		led.mu.Unlock()
		led.noteEvents(evs)
		return led.ackEvents(res.body)
	}
	if dead() {
		led.lose(body) // it may or may not be stored: the check retries it
		return nil
	}
	if err != nil {
		return fmt.Errorf("POST /events: %w", err)
	}
	return fmt.Errorf("POST /events: status %d, want 201: %s", res.status, res.body)
}

// writeBlob uploads 1 byte to 256 KiB of random data.
func writeBlob(d doer, led *powerLedger, dead func() bool) error {
	data, hash := randomBytes(1 + randInt(256<<10))
	res, err := d.do("PUT", "/storage/power.bin", data, map[string]string{"Content-Type": "application/octet-stream"})
	if err == nil && (res.status == http.StatusCreated || res.status == http.StatusOK) {
		if err := ackBlob(led.ledger, res, hash, len(data)); err != nil {
			return err
		}
		led.mu.Lock()
		led.recentBlobs = append(led.recentBlobs, hash)
		led.mu.Unlock()
		return nil
	}
	if dead() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("PUT /storage: %w", err)
	}
	return fmt.Errorf("PUT /storage: status %d, want 201: %s", res.status, res.body)
}

// sampleSize is how many older events and blobs a sampled check looks up
// one by one (on top of those acknowledged since the last check).
const sampleSize = 8

// check reads back, through d, everything acknowledged: the whole log
// (chain verified, every acknowledged event in it), each event by hash
// (all of them, or if !full those since the last check and a sample),
// the appends acknowledged since the last check retried (200: the eventId
// index found them), each blob (all, or recent and a sample); then it
// retries the appends whose answer was lost (200 or 201).
func (rig *powerRig) check(d doer, full bool) error {
	led := rig.led
	res, err := d.do("GET", "/events", nil, map[string]string{"Accept": "application/x-ndjson"})
	if err != nil {
		return fmt.Errorf("GET /events: %w", err)
	}
	if res.status != http.StatusOK {
		return fmt.Errorf("GET /events: status %d: %s", res.status, res.body)
	}
	log, err := checkChain(res.body)
	if err != nil {
		return fmt.Errorf("GET /events: %w", err)
	}
	if err := led.checkAcked(log); err != nil {
		return err
	}
	if err := checkStreams(d, log); err != nil {
		return err
	}
	led.mu.Lock()
	recent, recentHashes, recentBlobs := led.recent, led.recentHashes, led.recentBlobs
	led.mu.Unlock()
	hashes, blobs := led.pick(full, recentHashes, recentBlobs)
	for _, h := range hashes {
		res, err := d.do("GET", "/events/"+h.String(), nil, nil)
		if err != nil {
			return fmt.Errorf("GET /events/%s: %w", h, err)
		}
		if res.status != http.StatusOK {
			return fmt.Errorf("GET /events/%s (acknowledged, in the log): status %d: %s", h, res.status, res.body)
		}
		want := log[h]
		if evs, err := decodeErasable(res.body); err != nil || len(evs) != 1 || evs[0].Hash != h || evs[0].Erased() != want.Erased() {
			return fmt.Errorf("GET /events/%s: not that event as the log holds it (%v): %s", h, err, res.body)
		}
	}
	for _, body := range recent {
		res, err := d.do("POST", "/events", body, map[string]string{"Content-Type": "application/json"})
		if err != nil {
			return fmt.Errorf("retry of an acknowledged append: %w", err)
		}
		if res.status != http.StatusOK {
			return fmt.Errorf("retry of an acknowledged append: status %d, want 200 (already stored): %s", res.status, res.body)
		}
		if err := led.sameAsAcked(res.body); err != nil {
			return fmt.Errorf("retry of an acknowledged append: %w", err)
		}
	}
	for _, hash := range blobs {
		led.ledger.mu.Lock()
		size := led.blobs[hash]
		led.ledger.mu.Unlock()
		res, err := d.do("GET", "/storage/"+hash, nil, nil)
		if err != nil {
			return fmt.Errorf("GET /storage/%s: %w", hash, err)
		}
		if got := sha256hex(res.body); res.status != http.StatusOK || got != hash || int64(len(res.body)) != size {
			return fmt.Errorf("GET /storage/%s (acknowledged): status %d, %d bytes hashing to %s, want %d", hash, res.status, len(res.body), got, size)
		}
	}
	lost := led.takeLost()
	for i, body := range lost {
		res, err := d.do("POST", "/events", body, map[string]string{"Content-Type": "application/json"})
		if err != nil || (res.status != http.StatusOK && res.status != http.StatusCreated) {
			led.ledger.mu.Lock()
			led.lost = append(led.lost, lost[i:]...) // retried after the next reboot
			led.ledger.mu.Unlock()
			if err != nil {
				return fmt.Errorf("retry of an unanswered append: %w", err)
			}
			return fmt.Errorf("retry of an unanswered append: status %d, want 200 or 201: %s", res.status, res.body)
		}
		if err := led.ackEvents(res.body); err != nil {
			return err
		}
		rig.stats.retried++
	}
	led.mu.Lock()
	led.recent, led.recentBlobs = led.recent[len(recent):], led.recentBlobs[len(recentBlobs):]
	led.recentHashes = led.recentHashes[len(recentHashes):]
	led.mu.Unlock()
	for _, w := range powerWorkloads {
		if w.check == nil {
			continue
		}
		if err := w.check(rig, d, log); err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
	}
	return nil
}

// pick returns the events and blobs to look up one by one: all, or those
// of recentHashes and recentBlobs and a random sample of the others.
func (l *powerLedger) pick(full bool, recentHashes []sum.Hash, recentBlobs []string) ([]sum.Hash, []string) {
	l.ledger.mu.Lock()
	defer l.ledger.mu.Unlock()
	var hashes []sum.Hash
	var blobs []string
	if !full {
		hashes, blobs = slices.Clone(recentHashes), slices.Clone(recentBlobs)
	}
	for h := range l.events { // map order is random: a sample
		if !full && len(hashes) >= len(recentHashes)+sampleSize {
			break
		}
		hashes = append(hashes, h)
	}
	for hash := range l.blobs {
		if !full && len(blobs) >= len(recentBlobs)+sampleSize {
			break
		}
		blobs = append(blobs, hash)
	}
	return hashes, blobs
}

// sameAsAcked checks that the events of a retry's answer are the ones
// acknowledged before (same hashes, same eventIds).
func (l *powerLedger) sameAsAcked(body []byte) error {
	evs, err := decodeErasable(body)
	if err != nil {
		return err
	}
	l.ledger.mu.Lock()
	defer l.ledger.mu.Unlock()
	for _, ev := range evs {
		if id, ok := l.events[ev.Hash]; !ok || id != ev.EventID {
			return fmt.Errorf("answered event %s (eventId %s), not the one acknowledged", ev.Hash, ev.EventID)
		}
	}
	return nil
}
