package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"apie/sum"
)

// The physical floors: what the disk, the page cache, the hash and the
// loopback can do with no apie in the way, measured on the work
// directory's filesystem in the same run.

// fsyncer appends fixed-size records to a file of its own, each with its
// own write(2) and fsync(2): a single writer that commits every event
// alone.
type fsyncer struct {
	f   *os.File
	rec []byte
}

// newFsyncer creates the fsyncer's file in dir; records are size bytes.
func newFsyncer(dir string, size int) (*fsyncer, error) {
	f, err := os.CreateTemp(dir, "fsync-floor-")
	if err != nil {
		return nil, fmt.Errorf("fsync floor: %w", err)
	}
	rec := make([]byte, size)
	for i := range rec {
		rec[i] = 'a' + byte(i%26)
	}
	rec[size-1] = '\n'
	return &fsyncer{f: f, rec: rec}, nil
}

// once writes one record and fsyncs.
func (s *fsyncer) once(int) error {
	if _, err := s.f.Write(s.rec); err != nil {
		return fmt.Errorf("fsync floor: write: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("fsync floor: fsync: %w", err)
	}
	return nil
}

// close closes and removes the file.
func (s *fsyncer) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// pageCacheRead reads the file at path from the page cache (after one
// warming read) with 256 KiB read(2)s into one buffer, reps times, and
// returns the best rate in bytes per second.
func pageCacheRead(ctx context.Context, path string, reps int) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("page cache floor: %w", err)
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	best := 0.0
	for i := 0; i <= reps; i++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, fmt.Errorf("page cache floor: %w", err)
		}
		t0 := time.Now()
		var n int64
		for {
			k, err := f.Read(buf)
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("page cache floor: read: %w", err)
			}
		}
		if r := perSec(float64(n), time.Since(t0)); i > 0 && r > best {
			best = r // i == 0 only warms the cache
		}
	}
	return best, nil
}

// hashWrite is the blob PUT floor: SHA-256 of data (through apie/sum, the
// one hash apie uses) while writing it to a new file in dir in 1 MiB
// writes, then fsync and close — a durable plain write. It returns the
// mean rate over reps in bytes per second.
func hashWrite(ctx context.Context, dir string, data []byte, reps int) (float64, error) {
	var total time.Duration
	for i := 0; i < reps; i++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		t0 := time.Now()
		f, err := os.CreateTemp(dir, "hashwrite-floor-")
		if err != nil {
			return 0, fmt.Errorf("hash+write floor: %w", err)
		}
		h := sum.New()
		for off := 0; off < len(data); off += 1 << 20 {
			chunk := data[off:min(off+1<<20, len(data))]
			h.Write(chunk)
			if _, err := f.Write(chunk); err != nil {
				f.Close()
				os.Remove(f.Name())
				return 0, fmt.Errorf("hash+write floor: write: %w", err)
			}
		}
		_ = sum.FromDigest(h.Sum(nil))
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		total += time.Since(t0)
		os.Remove(f.Name())
		if err != nil {
			return 0, fmt.Errorf("hash+write floor: sync: %w", err)
		}
	}
	return perSec(float64(len(data)*reps), total), nil
}

// sendfileRate is the blob GET floor: the file at path sent over a
// loopback TCP connection by io.Copy (sendfile(2) underneath) to a reader
// that discards it, reps times; the best rate in bytes per second.
func sendfileRate(ctx context.Context, path string, reps int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("sendfile floor: %w", err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				errc <- nil
				return
			}
			f, err := os.Open(path)
			if err != nil {
				c.Close()
				errc <- err
				return
			}
			_, err = io.Copy(c, f) // *net.TCPConn.ReadFrom uses sendfile for an *os.File
			f.Close()
			c.Close()
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	best := 0.0
	buf := make([]byte, 256<<10)
	for i := 0; i <= reps; i++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		t0 := time.Now()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return 0, fmt.Errorf("sendfile floor: %w", err)
		}
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{c}, buf)
		c.Close()
		if err != nil {
			return 0, fmt.Errorf("sendfile floor: read: %w", err)
		}
		if r := perSec(float64(n), time.Since(t0)); i > 0 && r > best {
			best = r
		}
	}
	ln.Close()
	if err := <-errc; err != nil {
		return 0, fmt.Errorf("sendfile floor: %w", err)
	}
	return best, nil
}

// writeTemp writes data to a new file in dir and returns its path.
func writeTemp(dir, pattern string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	return filepath.Clean(f.Name()), f.Close()
}
