//go:build !linux

package durable

import (
	"context"
	"errors"
	"io/fs"
)

// KeptLock is not available where there is no directory watch to say
// when the lock file was replaced: callers use Lock for every lock.
type KeptLock struct{}

var errNoKeptLock = errors.New("kept lock: not supported on this system")

// OpenKeptLock reports that kept locks are not supported here.
func OpenKeptLock(string, fs.FileMode) (*KeptLock, error) { return nil, errNoKeptLock }

// Lock reports that kept locks are not supported here.
func (*KeptLock) Lock(context.Context) (func(), error) { return nil, errNoKeptLock }

// Close does nothing.
func (*KeptLock) Close() error { return nil }
