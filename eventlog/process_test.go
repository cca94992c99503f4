package eventlog

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"apie/event"
	"apie/store"
	"apie/sum"
)

// Real processes: the test binary runs itself as a writer
// (TestHelperWriter) that appends to a log directory and prints the hash
// of every event whose append was acknowledged, one per line.

const (
	envWriterDir   = "APIE_TEST_WRITER_DIR"
	envWriterCount = "APIE_TEST_WRITER_COUNT" // appends to make; 0 = until killed
	envWriterID    = "APIE_TEST_WRITER_ID"
)

// TestHelperWriter is not a test: it is the writer process of the
// multi-process tests, and returns at once when not started by them.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv(envWriterDir)
	if dir == "" {
		return
	}
	count, _ := strconv.Atoi(os.Getenv(envWriterCount))
	id, _ := strconv.Atoi(os.Getenv(envWriterID))
	ctx := context.Background()
	l, err := OpenEventLog(ctx, LogOptions{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	ack := func(res store.AppendResult) {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range res.Events {
			// One write(2) per line: a line reaches the pipe whole or not at all.
			os.Stdout.WriteString(ev.Hash.String() + "\n")
		}
	}
	workers := 1
	if count == 0 {
		workers = 4 // until killed: concurrent appends, so groups form
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; count == 0 || i < count; i++ {
				ds := []event.Draft{clientDraft(fmt.Sprintf("00000000-%04d-4000-8000-%012d", id%10000, w*1_000_000+i), "proc", fmt.Sprintf(`{"p":%d,"w":%d,"i":%d}`, id, w, i))}
				if i%4 == 3 {
					ds = append(ds, draft("proc.batch", `{"pad":"x"}`), draft("proc.batch", strconv.Itoa(i)))
				}
				res, err := l.Append(ctx, store.AppendRequest{Drafts: ds, CreatedBy: "proc"})
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				ack(res)
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		os.Exit(4)
	}
	os.Exit(0)
}

// startWriter starts a writer process; its acknowledged hashes arrive on
// the returned channel, which is closed when its stdout ends.
func startWriter(t *testing.T, dir string, id, count int) (*exec.Cmd, <-chan sum.Hash) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), envWriterDir+"="+dir, envWriterCount+"="+strconv.Itoa(count), envWriterID+"="+strconv.Itoa(id))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan sum.Hash, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if h, err := sum.Parse(sc.Text()); err == nil {
				ch <- h
			}
		}
		io.Copy(io.Discard, out)
	}()
	return cmd, ch
}

// TestMultiProcessWriters: three processes append to one directory at
// once. Nothing is lost and the log is one valid chain.
func TestMultiProcessWriters(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, testOpts(dir, nil)) // creates the log with small index levels
	const procs, each = 3, 40
	var cmds []*exec.Cmd
	var chans []<-chan sum.Hash
	for p := 0; p < procs; p++ {
		cmd, ch := startWriter(t, dir, p+1, each)
		cmds, chans = append(cmds, cmd), append(chans, ch)
	}
	var hs []sum.Hash
	for i, ch := range chans {
		for h := range ch {
			hs = append(hs, h)
		}
		if err := cmds[i].Wait(); err != nil {
			t.Fatalf("writer %d: %v", i+1, err)
		}
	}
	want := uint64(procs * (each + 2*each/4))
	if uint64(len(hs)) != want {
		t.Fatalf("writers acknowledged %d events, want %d", len(hs), want)
	}
	if h := mustHead(t, l); h.Seq != want {
		t.Fatalf("head: got seq %d, want %d", h.Seq, want)
	}
	checkChain(t, l, want, hs)
}

// TestKillWriter SIGKILLs a writer process at random moments, repeatedly:
// every acknowledged event survives, the log verifies, appends continue.
func TestKillWriter(t *testing.T) {
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	dir := t.TempDir()
	setup := openLog(t, testOpts(dir, nil))
	setup.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var acked []sum.Hash
	for r := 0; r < rounds; r++ {
		cmd, ch := startWriter(t, dir, r+1, 0)
		delay := time.Duration(5+rng.IntN(60)) * time.Millisecond
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		n := 0
		for h := range ch {
			acked = append(acked, h)
			n++
		}
		cmd.Wait()

		rec := &logRecorder{}
		l := openLog(t, testOpts(dir, rec))
		ctx := context.Background()
		for _, h := range acked {
			if _, err := l.Lookup(ctx, h); err != nil {
				t.Fatalf("round %d (killed after %v, %d acked): acknowledged event %s lost: %v", r, delay, n, h, err)
			}
		}
		rep := mustVerify(t, l)
		if rep.Events < uint64(len(acked)) {
			t.Fatalf("round %d: %d events, fewer than the %d acknowledged", r, rep.Events, len(acked))
		}
		acked = append(acked, appendN(t, l, 1)...)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %v, %d acked this round, %d events; %s", r, delay, n, rep.Events, rec)
	}
}
