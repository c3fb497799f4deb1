package executor

import "syscall"

// coreSysProcAttr puts each Heron process in its own process group, so that
// stopping it reaches what it started, and lets the kernel kill it should
// the executor die without cleaning up.
func coreSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
