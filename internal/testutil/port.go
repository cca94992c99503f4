package testutil

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
)

// portSet remembers the ports handed out in this process, so that servers
// started by parallel tests never get the same one.
type portSet struct {
	mu   sync.Mutex
	used map[int]bool
}

// ports is the process's port set. It is the package's only state: a
// port must not be handed out twice in one test binary, whichever test
// package helper asks.
var ports = portSet{used: map[int]bool{}}

// PickPort returns a 127.0.0.1 port that was free a moment ago and that
// no caller in this process has been given before. It suits
// apache.Options.PickPort.
func PickPort() (int, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pick a free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !ports.used[port] {
			ports.used[port] = true
			return port, nil
		}
	}
	return 0, errors.New("pick a free port: every port offered was handed out before")
}

// FreePort is PickPort that fails the test on error.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// FreeAddr returns "127.0.0.1:port" for a port from PickPort, failing the
// test on error.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}
