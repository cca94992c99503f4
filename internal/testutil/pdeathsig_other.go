//go:build !linux

package testutil

import "syscall"

// setParentDeathSignal does nothing where there is no Pdeathsig: a child
// of a test process that dies is left to the caller's cleanup.
func setParentDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}
