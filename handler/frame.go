package handler

import (
	"bufio"
	"strconv"
	"strings"

	"apie/sum"
)

// Framing of a follow response. NDJSON: one stored event a line, and
// lines without a hash member for the rest. SSE: each event as id: and
// data: with no event: field; caughtUp, heartbeat and end as named
// events.

// sseRetry is the reconnect delay an SSE follower is told, in ms.
const sseRetry = "retry: 2000\n"

// ssePadding is the comment an SSE response starts with, past the 2 KiB
// some proxies buffer before they pass a response on.
var ssePadding = ":" + strings.Repeat(" ", 2048) + "\n\n"

// control is a line that is not an event.
type control struct {
	Apie  string  `json:"apie"`
	Head  string  `json:"head,omitempty"`
	Count *uint64 `json:"count,omitempty"`
	After string  `json:"after,omitempty"`
}

// appendJSON appends c as encoding/json would write it (members in
// order, empty ones left out), without reflection: a follower that only
// ever sends these keeps a small stack while it waits.
func (c control) appendJSON(b []byte) []byte {
	b = append(b, `{"apie":`...)
	b = strconv.AppendQuote(b, c.Apie)
	if c.Head != "" {
		b = append(b, `,"head":`...)
		b = strconv.AppendQuote(b, c.Head)
	}
	if c.Count != nil {
		b = append(b, `,"count":`...)
		b = strconv.AppendUint(b, *c.Count, 10)
	}
	if c.After != "" {
		b = append(b, `,"after":`...)
		b = strconv.AppendQuote(b, c.After)
	}
	return append(b, '}')
}

// framer writes a follow response's parts to a buffer, which buf hands
// out only while there is something to write (an idle follower holds
// none).
type framer struct {
	buf func() *bufio.Writer
	sse bool
}

// start writes what goes before the first event.
func (f framer) start() {
	if f.sse {
		bw := f.buf()
		bw.WriteString(sseRetry)
		bw.WriteString(ssePadding)
	}
}

// event writes one stored record; hash is needed for SSE only.
func (f framer) event(rec []byte, hash sum.Hash) {
	bw := f.buf()
	if !f.sse {
		bw.Write(rec)
		bw.WriteByte('\n')
		return
	}
	bw.WriteString("id: ")
	bw.WriteString(hash.String())
	bw.WriteString("\ndata: ")
	bw.Write(rec)
	bw.WriteString("\n\n")
}

// caughtUp says the replay reached head, the count-th event.
func (f framer) caughtUp(head sum.Hash, count uint64) {
	f.control(control{Apie: "caughtUp", Head: head.String(), Count: &count}, head.String(), "")
}

// heartbeat says the follower is alive and nothing happened.
func (f framer) heartbeat() { f.control(control{Apie: "heartbeat"}, "", "") }

// end says the server ends the response; resume after the hash.
func (f framer) end(after sum.Hash) {
	f.control(control{Apie: "end", After: after.String()}, after.String(), sseRetry)
}

// control writes a non-event: a line, or an SSE event named for its kind
// (with id, so a reconnect resumes there, and a trailing field).
func (f framer) control(c control, id, tail string) {
	b := c.appendJSON(make([]byte, 0, 160))
	bw := f.buf()
	if !f.sse {
		bw.Write(b)
		bw.WriteByte('\n')
		return
	}
	if id != "" {
		bw.WriteString("id: " + id + "\n")
	}
	bw.WriteString("event: " + c.Apie + "\ndata: ")
	bw.Write(b)
	bw.WriteString("\n" + tail + "\n")
}

// wantsSSE reports whether the Accept header asks for server-sent events.
func wantsSSE(accept string) bool { return strings.Contains(accept, "text/event-stream") }

// padding is n bytes that no reader takes for data: an SSE comment, or
// for NDJSON a heartbeat line whose JSON ends in spaces. nil for n ≤ 0.
func (f framer) padding(n int) []byte {
	if n <= 0 {
		return nil
	}
	if f.sse {
		return []byte(":" + strings.Repeat(" ", n) + "\n\n")
	}
	return []byte(`{"apie":"heartbeat"}` + strings.Repeat(" ", n) + "\n")
}
