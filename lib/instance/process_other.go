//go:build !linux

package instance

import (
	"os"
	"syscall"
)

func setPipeSize(*os.File) {}

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
