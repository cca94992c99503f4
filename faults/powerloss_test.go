package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/app"
	"apie/internal/lazyfs"
)

// Power-loss tests: apie's data directory on lazyfs (a file system that
// forgets what was not fsync'd), writers that record what apie
// acknowledged, the power cut, the machine "rebooted" (what was not synced
// dropped, a new boot id), and every acknowledged write checked. See
// powerwork_test.go for the workloads and the checks.

// powerCuts returns how many power cuts a test makes: APIE_POWER_CUTS if
// set, long under `make reliability` (APIE_RELIABILITY_OUT set), else
// short (make test).
func powerCuts(short, long int) int {
	if n, err := strconv.Atoi(os.Getenv("APIE_POWER_CUTS")); err == nil && n > 0 {
		return n
	}
	if os.Getenv("APIE_RELIABILITY_OUT") != "" {
		return long
	}
	return short
}

// firstCut is the cut a test of cuts cuts starts at: 0, or
// APIE_POWER_FIRST rounded down to a fresh store's first cut, to
// reproduce a failure of a long run at its counted fsync without the
// cuts before it.
func firstCut(cuts int) int {
	n, err := strconv.Atoi(os.Getenv("APIE_POWER_FIRST"))
	if err != nil || n <= 0 || n >= cuts {
		return 0
	}
	return n / cutsPerStore * cutsPerStore
}

// cutsPerStore is how many power cuts one store goes through before the
// test starts a fresh one, so the checks of every acknowledged write stay
// cheap.
const cutsPerStore = 10

// maxCountedSync bounds the fsync at which a counted cut falls: cut i
// falls right before (even i) or right after (odd i) fsync 1 + (i/2)·s mod
// maxCountedSync counted from the reboot, so the small n hit apie's start
// and recovery, the larger ones its appends and uploads. The stride s is
// 1 when there are cuts enough to reach every n, else countedStride, so
// that a short run reaches the writes too.
const (
	maxCountedSync = 60
	countedStride  = 7 // coprime with maxCountedSync
)

// syncStride returns the stride of counted cuts for a test of cuts cuts.
func syncStride(cuts int) int {
	if cuts >= 2*maxCountedSync {
		return 1
	}
	return countedStride
}

// countedDone describes the counted cuts of a test of cuts cuts.
func countedDone(cuts int) string {
	if syncStride(cuts) == 1 {
		return fmt.Sprintf("n = 1…%d in turn", maxCountedSync)
	}
	return fmt.Sprintf("n = 1, %d, %d… (every %dth, modulo %d)", 1+countedStride, 1+2*countedStride, countedStride, maxCountedSync)
}

// A powerRig is one store on a lazy file system and what was acknowledged
// on it.
type powerRig struct {
	t      *testing.T
	fs     *lazyfs.FS
	s      *store
	led    *powerLedger
	id     string // this store's boot ids start with it
	boots  int
	rng    *rand.Rand
	stats  *powerStats
	stride int // of counted cuts (see maxCountedSync)
}

// powerStats counts what a test's cuts hit, for its row.
type powerStats struct {
	cuts, dropAll, random      int
	inStart, inCheck, inWrites int // where the power went (counted cuts)
	retried                    int
}

// newPowerRig mounts a lazy file system, makes a store on it (config,
// passwd with alice, an admin, so she may erase) and makes that durable, as if the machine had been
// idle since the install.
func newPowerRig(t *testing.T, rng *rand.Rand, stats *powerStats) *powerRig {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := lazyfs.Mount(dir)
	if err != nil {
		cannotMount(t, err.Error())
	}
	t.Cleanup(func() { f.Unmount() })
	r := &powerRig{t: t, fs: f, s: newStore(t, dir, storeOptions{Admins: []string{alice}}), led: newPowerLedger(),
		id: fmt.Sprintf("power-loss-%08x", rng.Uint32()), rng: rng, stats: stats}
	f.SyncAll()
	return r
}

// env is the environment that gives apie this boot's id.
func (r *powerRig) env() []string {
	return []string{fmt.Sprintf("%s=%s-%d", app.TestBootIDEnv, r.id, r.boots)}
}

// dead reports whether the power is cut.
func (r *powerRig) dead() bool {
	select {
	case <-r.fs.Dead():
		return true
	default:
		return false
	}
}

// arm sets up cut i: a counted cut (see maxCountedSync), or none (the
// caller cuts at a random moment).
func (r *powerRig) arm(i int, counted bool) {
	if counted {
		r.fs.CutAtSync(uint64(1+(i/2*r.stride)%maxCountedSync), i%2 == 1)
	}
}

// cutLater cuts the power after a random 10–250 ms, unless it is cut
// first; it returns at once.
func (r *powerRig) cutLater() {
	d := time.Duration(10+r.rng.IntN(240)) * time.Millisecond
	dead := r.fs.Dead()
	go func() {
		select {
		case <-time.After(d):
			r.fs.Cut()
		case <-dead:
		}
	}()
}

// awaitCut waits for the power to go, failing the test after a minute.
func (r *powerRig) awaitCut() {
	r.t.Helper()
	select {
	case <-r.fs.Dead():
	case <-time.After(time.Minute):
		r.fs.Cut()
		r.t.Fatalf("the power was not cut within a minute (%d fsyncs counted)", r.fs.Syncs())
	}
}

// reboot brings the power back after cut i (every process must be gone):
// even cuts lose everything unsynced, odd ones a random part of it (a
// random subset of the indexes' changes).
func (r *powerRig) reboot(i int) {
	r.t.Helper()
	loss := lazyfs.DropAll()
	if i%2 == 1 {
		// hash.idx and id.idx are written in place at random slots, and
		// seq.idx is fsync'd only at checkpoints, so a disk may keep any
		// of their unsynced pages: a header that claims inserts it lost,
		// or a hole in seq.idx before entries it kept, is what the
		// boot-id rule is for. The files written in place and then
		// fsync'd (a consumer's slot in slots, an erased record in log,
		// erase.gen) are scattered on every other such cut, a prefix
		// with a torn last write kept on the others.
		loss = lazyfs.Random(r.rng)
		loss.Scatter = lazyfs.Scattered(r.rng, func(p string) bool {
			return scatteredAlways(p) || scatteredSometimes(p) && r.rng.IntN(2) == 0
		})
		r.stats.random++
	} else {
		r.stats.dropAll++
	}
	if err := r.fs.Reboot(loss); err != nil {
		r.t.Fatal(err)
	}
	r.boots++
	r.stats.cuts++
}

// scatteredAlways reports whether a power loss that keeps a random part of
// the unsynced changes keeps any subset of those of the file p: the
// indexes, written in place and fsync'd late.
func scatteredAlways(p string) bool {
	for _, name := range []string{"/hash.idx", "/id.idx", "/seq.idx", "/stream.idx", "/streams.idx"} {
		if strings.HasSuffix(p, name) {
			return true
		}
	}
	return false
}

// scatteredSometimes reports whether p is written in place and fsync'd at
// once: its unsynced changes are scattered on some cuts, a torn prefix
// of them kept on others.
func scatteredSometimes(p string) bool {
	return strings.HasSuffix(p, "/consumers/slots") || strings.HasSuffix(p, "/log") || strings.HasSuffix(p, "/erase.gen")
}

// where records where a counted cut hit.
func (r *powerRig) where(phase *int) {
	if r.dead() {
		*phase++
	}
}

// runWriters runs every workload's writers through d until the power is
// cut or ctx ends, and returns their first real failure.
func (r *powerRig) runWriters(ctx context.Context, d doer) <-chan error {
	done := make(chan error, 1)
	var wg sync.WaitGroup
	var once sync.Once
	for _, w := range powerWorkloads {
		for range w.writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil && !r.dead() {
					if err := w.write(d, r.led, r.dead); err != nil {
						once.Do(func() { done <- fmt.Errorf("%s: %w", w.name, err) })
						return
					}
				}
			}()
		}
	}
	go func() {
		wg.Wait()
		once.Do(func() { done <- nil })
		close(done)
	}()
	return done
}

// TestPowerLossServe cuts the power under apie-serve at random moments
// while clients append events and batches and upload blobs.
func TestPowerLossServe(t *testing.T) {
	testPowerLossServe(t, rowPowerServe, false, powerCuts(8, 400))
}

// TestPowerLossServeCounted cuts the power under apie-serve right before
// and right after its n-th fsync since the reboot, for n = 1, 2, 3...
func TestPowerLossServeCounted(t *testing.T) {
	testPowerLossServe(t, rowPowerCounted, true, powerCuts(16, 400))
}

func testPowerLossServe(t *testing.T, rowName string, counted bool, cuts int) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	what := "at a random moment (10–250 ms into the writes)"
	if counted {
		what = fmt.Sprintf("right before and right after fsync n since the reboot, %s (apie-serve's start and recovery, then its writes)", countedDone(cuts))
	}
	r := newRow(t, rowName, fmt.Sprintf("%d power cuts on lazyfs (unsynced writes, names and truncates dropped; every other cut keeps a random part of them: a prefix of each file's and directory's changes, the last write torn, any subset of the pages written to the indexes, and on some cuts to the consumers' slots, the log and erase.gen): apie-serve with %s, cut %s; restarted with a new boot id after each; a fresh store every %d cuts",
		cuts, powerWriters(), what, cutsPerStore))
	stats := &powerStats{}
	var tot powerTotals
	for cut, end := firstCut(cuts), cuts; cut < end || tot.more(cut, cuts); {
		if cut >= end {
			end = cut + cutsPerStore
		}
		rig := newPowerRig(t, rng, stats)
		rig.stride = syncStride(cuts)
		for i := 0; i < cutsPerStore && cut < end; i, cut = i+1, cut+1 {
			rig.serveRound(cut, counted)
		}
		srv := rig.s.start(t, serverOptions{env: rig.env(), args: []string{"-scrub-every", "0"}})
		c := srv.client(alice, alicePW)
		if err := rig.check(c, true); err != nil {
			if isTimeout(err) {
				dumpHung(t, srv)
			}
			t.Fatalf("after the last cut: %v\n%s", err, rig.diagnose(srv))
		}
		srv.Shutdown(t)
		rig.s.mustVerify(t)
		tot.add(rig.led)
		if err := rig.fs.Unmount(); err != nil {
			t.Fatal(err)
		}
	}
	if tot.events == 0 || tot.blobs == 0 || tot.moves == 0 || tot.erases == 0 {
		t.Fatalf("nothing was acknowledged (%d events, %d blobs, %d consumer moves, %d erases): the test did not test", tot.events, tot.blobs, tot.moves, tot.erases)
	}
	r.pass(stats.cuts, stats.result(tot, counted, true))
}

// serveRound is one boot of the machine under apie-serve: start, check
// what was acknowledged before, write until the power goes, reboot.
func (rig *powerRig) serveRound(cut int, counted bool) {
	t := rig.t
	t.Helper()
	rig.arm(cut, counted)
	srv, err := rig.s.tryStart(t, serverOptions{env: rig.env(), args: []string{"-scrub-every", "0"}})
	if err != nil {
		if !rig.dead() {
			t.Fatalf("cut %d: apie-serve did not start after the reboot: %v\n%s", cut, err, rig.diagnose(srv))
		}
		rig.stats.inStart++
	} else {
		c := srv.client(alice, alicePW)
		err := rig.check(c, false)
		switch {
		case err != nil && !rig.dead():
			if isTimeout(err) {
				dumpHung(t, srv)
			}
			t.Fatalf("cut %d, after the reboot: %v\n%s", cut, err, rig.diagnose(srv))
		case rig.dead():
			rig.stats.inCheck++
		default:
			ctx, cancel := context.WithCancel(context.Background())
			done := rig.runWriters(ctx, c)
			if !counted {
				rig.cutLater()
			}
			rig.awaitCut()
			rig.where(&rig.stats.inWrites)
			srv.Kill()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("cut %d: %v\n%s", cut, err, rig.diagnose(srv))
			}
		}
		c.close()
	}
	if srv != nil {
		srv.Kill()
	}
	rig.reboot(cut)
}

// TestPowerLossCGI cuts the power under bursts of apie-cgi processes
// appending and uploading: every other cut at a random moment, the
// others counted as in TestPowerLossServeCounted.
func TestPowerLossCGI(t *testing.T) {
	cuts := powerCuts(10, 250)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	r := newRow(t, rowPowerCGI, fmt.Sprintf("%d power cuts on lazyfs (as above) under apie-cgi processes (%s, each a new process), alternately two at random moments and two right before and after fsync n (%s); apie-cgi run with a new boot id after each; a fresh store every %d cuts",
		cuts, powerWriters(), countedDone(cuts/2), cutsPerStore))
	stats := &powerStats{}
	var tot powerTotals
	for cut, end := 0, cuts; cut < end || tot.more(cut, cuts); {
		if cut >= end {
			end = cut + cutsPerStore
		}
		rig := newPowerRig(t, rng, stats)
		rig.stride = syncStride(cuts / 2)
		for i := 0; i < cutsPerStore && cut < end; i, cut = i+1, cut+1 {
			rig.cgiRound(cut, cut%4 >= 2)
		}
		if err := rig.check(rig.cgi(context.Background()), true); err != nil {
			t.Fatalf("after the last cut: %v", err)
		}
		rig.s.mustVerify(t)
		tot.add(rig.led)
		if err := rig.fs.Unmount(); err != nil {
			t.Fatal(err)
		}
	}
	if tot.events == 0 || tot.blobs == 0 || tot.moves == 0 || tot.erases == 0 {
		t.Fatalf("nothing was acknowledged (%d events, %d blobs, %d consumer moves, %d erases): the test did not test", tot.events, tot.blobs, tot.moves, tot.erases)
	}
	r.pass(stats.cuts, stats.result(tot, true, false))
}

// cgiRound is one boot of the machine under apie-cgi processes.
func (rig *powerRig) cgiRound(cut int, counted bool) {
	t := rig.t
	t.Helper()
	rig.arm(cut/4*2+cut%2, counted) // the counted cuts numbered 0, 1, 2...
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := rig.cgi(ctx)
	err := rig.check(d, false)
	switch {
	case err != nil && !rig.dead():
		t.Fatalf("cut %d, after the reboot: %v", cut, err)
	case rig.dead():
		rig.stats.inCheck++
	default:
		done := rig.runWriters(ctx, d)
		if !counted {
			rig.cutLater()
		}
		rig.awaitCut()
		rig.where(&rig.stats.inWrites)
		cancel() // kills every apie-cgi still running
		if err := <-done; err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
	}
	rig.reboot(cut)
}

// cgi returns a doer that runs each request as an apie-cgi process with
// this boot's id; ending ctx kills the processes.
func (rig *powerRig) cgi(ctx context.Context) doer {
	return cgiDoer{ctx: ctx, s: rig.s, env: rig.env()}
}

// powerTotals counts what was acknowledged over a test's stores.
type powerTotals struct{ events, blobs, moves, erases int }

// more says whether a run that has made cut of its planned cuts goes on
// with another store: while some workload has had no acknowledgement (a
// short run on a loaded machine may end before every writer got one),
// up to four times the plan.
func (t *powerTotals) more(cut, planned int) bool {
	none := t.events == 0 || t.blobs == 0 || t.moves == 0 || t.erases == 0
	return none && cut < 4*planned
}

func (t *powerTotals) add(led *powerLedger) {
	e, b := led.counts()
	t.events, t.blobs = t.events+e, t.blobs+b
	led.moves.mu.Lock()
	t.moves += led.moves.acked
	led.moves.mu.Unlock()
	led.mu.Lock()
	t.erases += led.erases.acked
	led.mu.Unlock()
}

// result is the row's result column.
func (s *powerStats) result(tot powerTotals, counted, serve bool) string {
	where := ""
	if counted {
		where = fmt.Sprintf(" (counted cuts hit apie-serve's start %d times, the checks after a reboot %d, the writes %d)", s.inStart, s.inCheck, s.inWrites)
		if !serve {
			where = fmt.Sprintf(" (counted cuts hit the checks after a reboot %d times, the writes %d)", s.inCheck, s.inWrites)
		}
	}
	return fmt.Sprintf("%d cuts (%d losing every unsynced change, %d a random part)%s; nothing acknowledged lost: all %d acknowledged events and %d blobs there (the whole log after every reboot; blobs acknowledged since the last reboot and a sample after each, all at the end of each store), chain verified, events found by hash (after every reboot those acknowledged since the last and a sample, at the end of each store all), each acknowledged append retried once answered 200 with the same events (id index), %d unanswered appends retried (200/201); %d acknowledged consumer moves: after every reboot each consumer whole, at an event of the log, no older than its last acknowledged move nor newer than its last attempted one; %d acknowledged erases: after every reboot each event erased with its tombstone and its body gone from the log file, no tombstone without its erasure nor an erased record without its tombstone, unanswered erases retried (200), POST /events/verify ok counting the tombstones; appends went on after every reboot; `apie-serve verify` exit 0 on every store",
		s.cuts, s.dropAll, s.random, where, tot.events, tot.blobs, s.retried, tot.moves, tot.erases)
}

// powerWriters describes the writers of powerWorkloads.
func powerWriters() string {
	s := ""
	for i, w := range powerWorkloads {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d writing %s", w.writers, w.name)
	}
	return s
}
