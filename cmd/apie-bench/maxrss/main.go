// Command maxrss runs a program and reports its peak resident set size,
// from wait4's rusage, on file descriptor 3:
//
//	maxrss PROGRAM [ARG...]   3>report
//
// writes "maxrss <KiB>\n" to fd 3 and exits with the program's status.
// The program gets this process's environment and standard streams.
//
// It exists because Go starts children with vfork semantics (CLONE_VM):
// until exec the child shares its parent's memory, and Linux charges the
// parent's peak RSS to the child's ru_maxrss. A large parent (apie-bench
// holds 256 MiB blobs) would hide the child's real figure. This helper is
// small, so what it lends its child is a couple of MiB at most.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: maxrss PROGRAM [ARG...] 3>report")
		os.Exit(2)
	}
	report := os.NewFile(3, "report")
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "maxrss:", err)
		os.Exit(127)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && report != nil {
		fmt.Fprintf(report, "maxrss %d\n", ru.Maxrss)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
