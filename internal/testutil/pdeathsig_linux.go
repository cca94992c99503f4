package testutil

import "syscall"

// setParentDeathSignal has the kernel send sig to the child when the
// thread that started it (and so the test process) dies.
func setParentDeathSignal(a *syscall.SysProcAttr, sig syscall.Signal) { a.Pdeathsig = sig }
