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
	_, p, c, err := b.serveFresh(ctx, "blobs", "apie-serve-blobs.log", 4)
	if err != nil {
		return err
	}
	defer p.stop()
	defer c.close()
	floorDir := filepath.Join(b.work, "floor")

	// Warm up the routes, then take the memory baseline.
	if _, err := b.blobRound(ctx, c, randomBytes(64<<10, 0), 2, "warm", floorDir); err != nil {
		return err
	}
	base, err := peakRSS(p.pid())
	if err != nil {
		return err
	}

	var bigHash string
	for _, size := range []struct {
		label   string
		n, reps int
	}{
		{"small", b.sz.smallBlob, b.sz.smallBlobN},
		{"big", b.sz.bigBlob, b.sz.bigBlobN},
	} {
		r, err := b.blobRound(ctx, c, randomBytes(size.n, uint64(size.n)), size.reps, size.label, floorDir)
		if err != nil {
			return err
		}
		if size.label == "small" {
			b.res.putSmall, b.res.floorSmall = r.put, r.hashWrite
		} else {
			b.res.putBig, b.res.floorBig = r.put, r.hashWrite
			bigHash = r.last
			after, err := peakRSS(p.pid())
			if err != nil {
				return err
			}
			b.res.blobRSSDelta = after - base
		}
		sz := fmtMiB(int64(size.n))
		b.rep.add(fmt.Sprintf("blob PUT %s (MB/s)", sz), fmtMBps(r.put),
			fmt.Sprintf("%s: SHA-256 + write + fsync of the same bytes", fmtMBps(r.hashWrite)), fmtRatio(r.put/r.hashWrite))
		b.rep.add(fmt.Sprintf("blob GET %s (MB/s)", sz), fmtMBps(r.get),
			fmt.Sprintf("%s: sendfile of the same bytes over loopback", fmtMBps(r.sendfile)), fmtRatio(r.get/r.sendfile))
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

// blobRates are one size's figures and floors, in bytes per second.
type blobRates struct {
	put, get, hashWrite, sendfile float64
	last                          string // the hash of the last blob stored
}

// blobRound PUTs data reps times (each time made distinct by its first 8
// bytes, so every PUT stores new bytes) and GETs each back; after each
// pair it runs the floors on the same bytes (SHA-256 + write + fsync, and
// sendfile over loopback), so figures and floors share the machine's load.
func (b *bench) blobRound(ctx context.Context, c *client, data []byte, reps int, label, floorDir string) (blobRates, error) {
	path, err := writeTemp(floorDir, "sendfile-floor-", data)
	if err != nil {
		return blobRates{}, fmt.Errorf("sendfile floor: %w", err)
	}
	defer os.Remove(path)
	sf, err := newSendfiler(path)
	if err != nil {
		return blobRates{}, err
	}
	var tPut, tGet, tHash, tSend time.Duration
	var r blobRates
	stamp := uint64(time.Now().UnixNano())
	for i := 0; i < reps; i++ {
		if err := ctx.Err(); err != nil {
			sf.close()
			return r, err
		}
		binary.LittleEndian.PutUint64(data, stamp+uint64(i))
		t0 := time.Now()
		rep, err := c.call(ctx, http.MethodPut, "/storage/bench-"+label+"-"+strconv.Itoa(i)+".bin", data, true,
			[]int{http.StatusCreated}, "Content-Type", "application/octet-stream")
		if err != nil {
			sf.close()
			return r, err
		}
		tPut += time.Since(t0)
		var stored struct {
			Hash string `json:"hash"`
			Size int64  `json:"size"`
		}
		if err := json.Unmarshal(rep.body, &stored); err != nil || stored.Hash == "" || stored.Size != int64(len(data)) {
			sf.close()
			return r, fmt.Errorf("PUT /storage: unexpected answer %q", rep.body)
		}
		r.last = stored.Hash
		t0 = time.Now()
		g, err := c.call(ctx, http.MethodGet, "/storage/"+stored.Hash, nil, false, []int{http.StatusOK})
		if err != nil {
			sf.close()
			return r, err
		}
		tGet += time.Since(t0)
		if g.n != int64(len(data)) {
			sf.close()
			return r, fmt.Errorf("GET /storage/%s: got %d bytes, want %d", stored.Hash, g.n, len(data))
		}
		t0 = time.Now()
		if err := hashWrite(floorDir, data); err != nil {
			sf.close()
			return r, err
		}
		tHash += time.Since(t0)
		t0 = time.Now()
		if _, err := sf.once(); err != nil {
			sf.close()
			return r, err
		}
		tSend += time.Since(t0)
	}
	if err := sf.close(); err != nil {
		return r, err
	}
	n := float64(len(data) * reps)
	r.put, r.get, r.hashWrite, r.sendfile = perSec(n, tPut), perSec(n, tGet), perSec(n, tHash), perSec(n, tSend)
	return r, nil
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
