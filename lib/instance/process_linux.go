package instance

import (
	"os"
	"syscall"
)

const fSetPipeSz = 1031 // F_SETPIPE_SZ

func setPipeSize(f *os.File) {
	// Best effort: the kernel may cap it (fs.pipe-max-size).
	// SyscallConn, not Fd: Fd would switch the pipe to blocking mode.
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, PipeSize)
	})
}

func sysProcAttr() *syscall.SysProcAttr {
	// Own process group, so a whole pipeline stops together; and the
	// leader dies with the executor even if the executor is killed hard.
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
