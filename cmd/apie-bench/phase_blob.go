package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// blobs measures blob PUT and GET at a small and a big size on a fresh
// apie-serve, the memory a big upload adds, and whether GET uses
// sendfile.
func (b *bench) blobs(ctx context.Context) error {
	in, err := newInstance(filepath.Join(b.work, "blobs"), b.passwd)
	if err != nil {
		return err
	}
	p, err := startServe(ctx, b.bin.serve, in, b.logPath("apie-serve-blobs.log"))
	if err != nil {
		return err
	}
	defer p.stop()
	c := newClient(p.url, user4.basic(), true, 4)
	defer c.close()
	floorDir := filepath.Join(b.work, "floor")

	// Warm up the routes, then take the memory baseline.
	warm := randomBytes(64<<10, 0)
	if _, _, _, err := b.blobRound(ctx, c, warm, 2, "warm"); err != nil {
		return err
	}
	base, err := peakRSS(p.pid())
	if err != nil {
		return err
	}

	var bigHash string
	for _, size := range []struct {
		label                 string
		n, reps               int
		put, get, floor, send *float64
	}{
		{"small", b.sz.smallBlob, b.sz.smallBlobN, &b.res.putSmall, &b.res.getSmall, &b.res.floorSmall, new(float64)},
		{"big", b.sz.bigBlob, b.sz.bigBlobN, &b.res.putBig, &b.res.getBig, &b.res.floorBig, &b.res.sendfileBig},
	} {
		data := randomBytes(size.n, uint64(size.n))
		put, get, last, err := b.blobRound(ctx, c, data, size.reps, size.label)
		if err != nil {
			return err
		}
		*size.put, *size.get = put, get
		if size.label == "big" {
			bigHash = last
			after, err := peakRSS(p.pid())
			if err != nil {
				return err
			}
			b.res.blobRSSDelta = after - base
		}
		if *size.floor, err = hashWrite(ctx, floorDir, data, size.reps); err != nil {
			return err
		}
		path, err := writeTemp(floorDir, "sendfile-floor-", data)
		if err != nil {
			return fmt.Errorf("sendfile floor: %w", err)
		}
		*size.send, err = sendfileRate(ctx, path, max(5, min(size.reps, 10)))
		os.Remove(path)
		if err != nil {
			return err
		}
		sz := fmtMiB(int64(size.n))
		b.rep.add(fmt.Sprintf("blob PUT %s (MB/s)", sz), fmtMBps(put),
			fmt.Sprintf("%s: SHA-256 + write + fsync of the same bytes", fmtMBps(*size.floor)), fmtRatio(put / *size.floor))
		b.rep.add(fmt.Sprintf("blob GET %s (MB/s)", sz), fmtMBps(get),
			fmt.Sprintf("%s: sendfile of the same bytes over loopback", fmtMBps(*size.send)), fmtRatio(get / *size.send))
		data = nil
	}
	b.rep.add(fmt.Sprintf("apie-serve peak RSS added by the %s uploads", fmtMiB(int64(b.sz.bigBlob))),
		fmtMiB(b.res.blobRSSDelta), fmt.Sprintf("baseline %s after warm-up", fmtMiB(base)), "")

	// Untimed: what a GET and a PUT ask of the kernel.
	calls, err := straceAttach(ctx, p.pid(), b.logPath("strace-blob-get.txt"), func() error {
		_, err := c.call(ctx, http.MethodGet, "/storage/"+bigHash, nil, false, []int{http.StatusOK})
		return err
	})
	if err != nil {
		b.res.sendfileSeen = "not checked: " + err.Error()
		b.rep.note("blob GET not profiled: %v", err)
		return nil
	}
	b.res.sendfileSeen = sendfileSummary(calls)
	b.res.profiles = append(b.res.profiles, profile{"apie-serve: blob GET " + fmtMiB(int64(b.sz.bigBlob)), 1, calls})
	one := randomBytes(b.sz.smallBlob, 7)
	calls, err = straceAttach(ctx, p.pid(), b.logPath("strace-blob-put.txt"), func() error {
		_, err := c.call(ctx, http.MethodPut, "/storage/profiled.bin", one, false, []int{http.StatusCreated}, "Content-Type", "application/octet-stream")
		return err
	})
	if err != nil {
		return err
	}
	b.res.profiles = append(b.res.profiles, profile{"apie-serve: blob PUT " + fmtMiB(int64(b.sz.smallBlob)), 1, calls})
	return nil
}

// blobRound PUTs data reps times (each time made distinct by its first 8
// bytes, so every PUT stores new bytes) and GETs each back; it returns the
// PUT and GET rates in bytes per second and the last blob's hash.
func (b *bench) blobRound(ctx context.Context, c *client, data []byte, reps int, label string) (put, get float64, last string, err error) {
	var tPut, tGet time.Duration
	stamp := uint64(time.Now().UnixNano())
	for i := 0; i < reps; i++ {
		binary.LittleEndian.PutUint64(data, stamp+uint64(i))
		t0 := time.Now()
		rep, err := c.call(ctx, http.MethodPut, "/storage/bench-"+label+"-"+strconv.Itoa(i)+".bin", data, true,
			[]int{http.StatusCreated}, "Content-Type", "application/octet-stream")
		if err != nil {
			return 0, 0, "", err
		}
		tPut += time.Since(t0)
		var r struct {
			Hash string `json:"hash"`
			Size int64  `json:"size"`
		}
		if err := json.Unmarshal(rep.body, &r); err != nil || r.Hash == "" || r.Size != int64(len(data)) {
			return 0, 0, "", fmt.Errorf("PUT /storage: unexpected answer %q", rep.body)
		}
		last = r.Hash
		t0 = time.Now()
		g, err := c.call(ctx, http.MethodGet, "/storage/"+r.Hash, nil, false, []int{http.StatusOK})
		if err != nil {
			return 0, 0, "", err
		}
		tGet += time.Since(t0)
		if g.n != int64(len(data)) {
			return 0, 0, "", fmt.Errorf("GET /storage/%s: got %d bytes, want %d", r.Hash, g.n, len(data))
		}
	}
	n := float64(len(data) * reps)
	return perSec(n, tPut), perSec(n, tGet), last, nil
}

// randomBytes returns n bytes that do not compress, from a fixed seed.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	r.Read(b)
	return b
}

// sendfileSummary says which file-sending calls a blob GET made.
func sendfileSummary(calls syscallCounts) string {
	var parts []string
	for _, name := range []string{"sendfile", "splice", "copy_file_range", "read", "pread64", "write", "writev"} {
		if n, ok := calls[name]; ok {
			parts = append(parts, fmt.Sprintf("%s×%d", name, n))
		}
	}
	return strings.Join(parts, ", ")
}
