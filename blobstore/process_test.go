package blobstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"apie/store"
	"apie/sum"
)

// The tests in this file run the test binary itself as a child process
// (TestBlobHelperProcess, selected by environment variables) to put blobs
// from several processes at once, and to be killed mid-upload.
const (
	envBlobHelper = "APIE_BLOB_HELPER" // "crash" or "put-same"
	envBlobDir    = "APIE_BLOB_DIR"
	envBlobSeed   = "APIE_BLOB_SEED"
)

// TestBlobHelperProcess is not a test: it is the child of the tests below,
// and does nothing unless they set APIE_BLOB_HELPER.
func TestBlobHelperProcess(t *testing.T) {
	mode := os.Getenv(envBlobHelper)
	if mode == "" {
		return
	}
	seed, _ := strconv.ParseUint(os.Getenv(envBlobSeed), 10, 64)
	ctx := context.Background()
	b, err := OpenBlobStore(ctx, BlobOptions{Dir: os.Getenv(envBlobDir)})
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	switch mode {
	case "crash":
		// Put large blobs until killed, saying which Puts returned.
		for i := uint64(0); ; i++ {
			data := blobTestBytes(seed<<20|i, (1+int(i*7919%8))<<20)
			info, _, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{Filename: "crash.bin"}, nil)
			if err != nil {
				fmt.Printf("error %v\n", err)
				os.Exit(2)
			}
			fmt.Printf("acked %s\n", info.Hash)
		}
	case "put-same":
		// Wait for the word, then put the same bytes from 4 goroutines.
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
		data := blobTestBytes(seed, 1<<20)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				_, created, err := b.Put(ctx, bytes.NewReader(data), store.BlobInfo{}, nil)
				if err != nil {
					fmt.Printf("error %v\n", err)
					return
				}
				fmt.Printf("created %v\n", created)
			})
		}
		wg.Wait()
	}
	b.Close()
	os.Exit(0)
}

// helperCmd returns the command that runs the test binary as a helper.
func helperCmd(mode, dir string, seed uint64) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBlobHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envBlobHelper+"="+mode, envBlobDir+"="+dir, envBlobSeed+"="+strconv.FormatUint(seed, 10))
	cmd.Stderr = os.Stderr
	return cmd
}

func TestBlobConcurrentProcesses(t *testing.T) {
	const procs = 4
	dir := t.TempDir()
	var (
		cmds   []*exec.Cmd
		stdins []io.WriteCloser
		outs   []*bufio.Reader
	)
	for range procs {
		cmd := helperCmd("put-same", dir, 42)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		r := bufio.NewReader(out)
		if line, err := r.ReadString('\n'); err != nil || line != "ready\n" {
			t.Fatalf("helper: got %q, %v; want \"ready\"", line, err)
		}
		cmds, stdins, outs = append(cmds, cmd), append(stdins, in), append(outs, r)
	}
	for _, in := range stdins {
		io.WriteString(in, "go\n")
	}
	created := map[string]int{}
	for i, r := range outs {
		rest, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := cmds[i].Wait(); err != nil {
			t.Errorf("helper %d: %v", i, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(rest)), "\n") {
			if !strings.HasPrefix(line, "created ") {
				t.Errorf("helper %d: got line %q, want \"created <bool>\"", i, line)
				continue
			}
			created[strings.TrimPrefix(line, "created ")]++
		}
	}
	if created["true"] != 1 || created["false"] != 4*procs-1 {
		t.Errorf("got created counts %v, want 1 true and %d false", created, 4*procs-1)
	}
}

// TestBlobCrash kills a child uploading large blobs at random moments,
// over and over, and checks after each kill that no partial blob is
// visible under a hash, that every blob whose Put returned is intact, and
// in the end that abandoned temp files go and the store verifies.
func TestBlobCrash(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	dir := t.TempDir()
	// The store exists before the first child starts: a kill that lands
	// while a child is still starting (a loaded machine) then leaves a
	// round without uploads, not a directory without its tmp/.
	if b, err := OpenBlobStore(context.Background(), BlobOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	} else {
		b.Close()
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	acked := map[sum.Hash]bool{}
	leftovers, cutShort := 0, 0
	for round := range rounds {
		cmd := helperCmd("crash", dir, uint64(round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var lines []string
		done := make(chan struct{})
		go func() {
			defer close(done)
			s := bufio.NewScanner(out)
			for s.Scan() {
				lines = append(lines, s.Text())
			}
		}()
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		for _, line := range lines {
			hex, ok := strings.CutPrefix(line, "acked ")
			if !ok {
				if strings.HasPrefix(line, "error ") {
					t.Fatalf("round %d: helper: %s", round, line)
				}
				continue
			}
			h, err := sum.Parse(hex)
			if err != nil {
				t.Fatalf("round %d: helper printed %q: %v", round, line, err)
			}
			acked[h] = true
		}
		checkCrashedStore(t, dir, acked)
		names, err := tempNames(filepath.Join(dir, blobTmpName))
		if err != nil {
			t.Fatal(err)
		}
		if len(names) > leftovers {
			cutShort++
		}
		leftovers = len(names)
	}
	t.Logf("%d rounds: %d blobs acknowledged, %d uploads cut short", rounds, len(acked), cutShort)

	// A fresh temp file survives Open with the default threshold...
	ctx := context.Background()
	b, err := OpenBlobStore(ctx, BlobOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if names, _ := tempNames(filepath.Join(dir, blobTmpName)); len(names) != leftovers {
		t.Errorf("got %d temp files after Open, want the %d fresh ones kept", len(names), leftovers)
	}
	// ...and goes once older than it.
	b = newTestBlobStore(t, BlobOptions{Dir: dir, staleTemp: time.Nanosecond})
	assertNoTemp(t, b)
	rep, err := b.Verify(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Bad) != 0 {
		t.Errorf("got bad blobs %+v after crashes, want none", rep.Bad)
	}
	if rep.Blobs < len(acked) {
		t.Errorf("Verify counted %d blobs, want at least the %d acknowledged", rep.Blobs, len(acked))
	}
	// And it still takes uploads.
	if _, _, err := b.Put(ctx, strings.NewReader("after the crashes"), store.BlobInfo{}, nil); err != nil {
		t.Fatalf("Put after crashes: %v", err)
	}
}

// checkCrashedStore checks that every file named by a hash holds exactly
// the bytes of that hash and has its metadata, and that every acknowledged
// blob is there.
func checkCrashedStore(t *testing.T, dir string, acked map[sum.Hash]bool) {
	t.Helper()
	present := map[sum.Hash]bool{}
	for _, rel := range storedFiles(t, dir) {
		name := filepath.Base(rel)
		if !isHashName(name) {
			continue
		}
		h, err := sum.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if got := sum.Of(data); got != h {
			t.Fatalf("%s: got content hashing to %s (%d bytes): a partial blob is visible", rel, got, len(data))
		}
		if _, err := os.Stat(filepath.Join(dir, rel+metaSuffix)); err != nil {
			t.Errorf("%s: blob without metadata: %v", rel, err)
		}
		present[h] = true
	}
	for h := range acked {
		if !present[h] {
			t.Errorf("acknowledged blob %s is missing", h)
		}
	}
}

// tempNames lists the upload temp files in tmp.
func tempNames(tmp string) ([]string, error) {
	entries, err := os.ReadDir(tmp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // killed before it made the store: nothing in flight
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), partSuffix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
