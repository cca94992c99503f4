//go:build !linux

package apache

import "syscall"

// setParentDeathSignal does nothing where there is no Pdeathsig: the
// caller's Stop is what ends httpd.
func setParentDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}
