package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFloors(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(3<<20+17, 1)
	path, err := writeTemp(dir, "floor-", data)
	if err != nil {
		t.Fatal(err)
	}

	buf := make([]byte, 256<<10)
	n, err := pageCacheRead(path, buf)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("pageCacheRead: got %d, %v; want %d", n, err, len(data))
	}

	sf, err := newSendfiler(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // the one connection serves every request
		if n, err := sf.once(); err != nil || n != int64(len(data)) {
			t.Fatalf("sendfiler.once #%d: got %d, %v; want %d", i, n, err, len(data))
		}
	}
	if err := sf.close(); err != nil {
		t.Fatalf("sendfiler.close: %v", err)
	}

	if err := hashWrite(dir, data); err != nil {
		t.Fatal(err)
	}
	fs, err := newFsyncer(dir, 300)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := fs.once(i); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(fs.f.Name())
	if err != nil || fi.Size() != 900 {
		t.Fatalf("fsyncer file: got %v, %v; want 900 bytes", fi, err)
	}
	fs.close()
	// Only the file written by writeTemp remains: the floors clean up.
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 1 || left[0] != path {
		t.Fatalf("got %q left in the directory, want only %q", left, path)
	}
}

func TestLoopsStopByThemselves(t *testing.T) {
	ctx := context.Background()
	calls := 0
	s, err := timeLoop(ctx, 2, 1<<30, 50*time.Millisecond, func(int) error {
		calls++
		time.Sleep(time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s) < 5 || len(s) > 200 || calls != len(s)+2 {
		t.Fatalf("got %d samples in %d calls, want 5..200 samples plus 2 warm calls", len(s), calls)
	}

	var order []int
	ss, err := timeInterleaved(ctx, 1, 3, time.Minute,
		func(int) error { order = append(order, 0); return nil },
		func(int) error { order = append(order, 1); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || len(ss[0]) != 3 || len(ss[1]) != 3 {
		t.Fatalf("got %d sets of sizes %d, %d; want 2 sets of 3", len(ss), len(ss[0]), len(ss[1]))
	}
	for i, k := range order {
		if k != i%2 {
			t.Fatalf("got order %v, want the two in turn", order)
		}
	}

	rates, err := alternate(ctx, 2, 20*time.Millisecond,
		func(d time.Duration) (int, error) { time.Sleep(d); return 10, nil },
		func(d time.Duration) (int, error) { time.Sleep(d); return 30, nil })
	if err != nil {
		t.Fatal(err)
	}
	// Counts and each rate's arithmetic, not the ratio of two sleeps' wall
	// times, which a loaded machine stretches.
	if rates[0].count != 20 || rates[1].count != 60 {
		t.Fatalf("got %+v, want counts 20 and 60", rates)
	}
	for _, r := range rates {
		if r.elapsed < 2*20*time.Millisecond || r.rate != perSec(float64(r.count), r.elapsed) {
			t.Fatalf("got %+v, want at least 40 ms timed and rate = count / elapsed", r)
		}
	}

	boom := errors.New("boom")
	if _, err := timeLoop(ctx, 0, 10, time.Minute, func(i int) error {
		if i == 3 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the loop to stop with boom", err)
	}
	n, _, err := concurrently(4, 5, time.Minute, func(k, i int) error { return nil })
	if err != nil || n != 20 {
		t.Fatalf("concurrently: got %d, %v; want 20", n, err)
	}
}
