//go:build !linux

package executor

import "syscall"

// coreSysProcAttr puts each Heron process in its own process group, so that
// stopping it reaches what it started.
func coreSysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
