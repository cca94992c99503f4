package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

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

// pageCacheRead reads the whole file at path with 256 KiB read(2)s into
// one buffer and returns the bytes read: after a first warming call, a
// read from the page cache.
func pageCacheRead(path string, buf []byte) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("page cache floor: %w", err)
	}
	defer f.Close()
	var n int64
	for {
		k, err := f.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("page cache floor: read: %w", err)
		}
	}
}

// hashWrite is the blob PUT floor: SHA-256 of data (through apie/sum, the
// one hash apie uses) while writing it to a new file in dir in 1 MiB
// writes, then fsync and close — a durable plain write. The file is
// removed afterwards.
func hashWrite(dir string, data []byte) error {
	f, err := os.CreateTemp(dir, "hashwrite-floor-")
	if err != nil {
		return fmt.Errorf("hash+write floor: %w", err)
	}
	defer os.Remove(f.Name())
	h := sum.New()
	for off := 0; off < len(data); off += 1 << 20 {
		chunk := data[off:min(off+1<<20, len(data))]
		h.Write(chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return fmt.Errorf("hash+write floor: write: %w", err)
		}
	}
	_ = sum.FromDigest(h.Sum(nil))
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("hash+write floor: sync: %w", err)
	}
	return nil
}

// sendfiler is the GET floor: a loopback TCP server that, for each byte
// it reads from its one kept-alive connection, sends a whole file by
// io.Copy (sendfile(2) underneath, as *net.TCPConn's ReadFrom does for an
// *os.File), to a client that reads it into a buffer and discards it.
type sendfiler struct {
	ln   net.Listener
	conn net.Conn // the client's end
	size int64
	buf  []byte
	errc chan error
}

// newSendfiler starts the server for the file at path and connects to it.
func newSendfiler(path string) (*sendfiler, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sendfile floor: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sendfile floor: %w", err)
	}
	s := &sendfiler{ln: ln, size: fi.Size(), buf: make([]byte, 256<<10), errc: make(chan error, 1)}
	go func() { s.errc <- serveFile(ln, path) }()
	if s.conn, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		ln.Close()
		return nil, fmt.Errorf("sendfile floor: %w", err)
	}
	return s, nil
}

// serveFile accepts one connection and sends the file once per byte read.
func serveFile(ln net.Listener, path string) error {
	c, err := ln.Accept()
	if err != nil {
		return err
	}
	defer c.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var req [1]byte
	for {
		if _, err := io.ReadFull(c, req[:]); err != nil {
			return nil // the client is done
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(c, f); err != nil {
			return err
		}
	}
}

// once asks for the file and reads all of it; it returns its size.
func (s *sendfiler) once() (int64, error) {
	if _, err := s.conn.Write([]byte{1}); err != nil {
		return 0, fmt.Errorf("sendfile floor: %w", err)
	}
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, io.LimitReader(s.conn, s.size), s.buf)
	if err == nil && n != s.size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, fmt.Errorf("sendfile floor: read: %w", err)
	}
	return n, nil
}

// close ends the connection and the server, and reports a failure it met.
func (s *sendfiler) close() error {
	s.conn.Close()
	s.ln.Close()
	if err := <-s.errc; err != nil {
		return fmt.Errorf("sendfile floor: %w", err)
	}
	return nil
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
