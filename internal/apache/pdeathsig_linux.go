package apache

import "syscall"

// setParentDeathSignal has the kernel send sig to httpd when the thread
// that started it (and so this process) dies: a test binary that is
// killed leaves no server behind.
func setParentDeathSignal(a *syscall.SysProcAttr, sig syscall.Signal) { a.Pdeathsig = sig }
