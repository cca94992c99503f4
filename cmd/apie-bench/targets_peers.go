package main

import "fmt"

// The targets against a durable peer, the trivial server's CPU and its
// start, as ratios of figures from the same run.
const (
	jetstreamP50Max = 1.0 // apie append p50 / JetStream publish p50, 1 client
	cpuPerAppendMax = 2.0 // apie-serve CPU per append / trivial server CPU per request, 16 clients
	firstStartMax   = 2.0 // apie-serve first start / trivial server start
)

// checkPeerTargets records the JetStream, CPU and first-start targets.
func (b *bench) checkPeerTargets() {
	r, rep := &b.res, b.rep
	if len(r.jetstream) > 0 {
		ratio := float64(r.appendVsJS.p50()) / float64(r.jetstream.p50())
		rep.check("apie-serve append p50, 1 client, vs NATS JetStream (sync_interval: always)", "< JetStream's p50 (ratio < 1)",
			fmt.Sprintf("%s = %s vs %s", fmtRatio(ratio), fmtDur(r.appendVsJS.p50()), fmtDur(r.jetstream.p50())), ratio < jetstreamP50Max,
			fmt.Sprintf("both pay one fsync (%s p50 for write + fsync alone in this run) and one loopback round trip (%s for the trivial server); apie adds HTTP parsing, basic auth, JSON validation, JCS and SHA-256 of each event, and seq.idx/index writes",
				fmtDur(r.fsync.p50()), fmtDur(r.rt.p50())))
	}
	if r.serverCPU > 0 && r.trivialCPU > 0 {
		ratio := float64(r.serverCPU) / float64(r.trivialCPU)
		rep.check(fmt.Sprintf("apie-serve CPU per durable append, %d clients, vs the trivial server's CPU per request", b.sz.clients),
			fmt.Sprintf("≤ %.0f×", cpuPerAppendMax),
			fmt.Sprintf("%s = %s vs %s", fmtRatio(ratio), fmtDur(r.serverCPU), fmtDur(r.trivialCPU)), ratio <= cpuPerAppendMax,
			"the append's own work per event: auth, JSON validation, JCS, SHA-256 ×3 (body, event, index keys), the record and response encoding, the request log line, and per group the write, fsync, seq.idx write and two index inserts per event")
	}
	if len(r.firstStart) > 0 {
		ratio := float64(r.firstStart.p50()) / float64(r.trivialStart.p50())
		rep.check("apie-serve first start (empty directory → first answered request)", fmt.Sprintf("≤ %.0f× the trivial server's start", firstStartMax),
			fmt.Sprintf("%s = %s vs %s", fmtRatio(ratio), fmtDur(r.firstStart.p50()), fmtDur(r.trivialStart.p50())), ratio <= firstStartMax,
			"creating the stores (directories, files and their fsyncs) before listening; the first user is hashed while listening")
	}
}
