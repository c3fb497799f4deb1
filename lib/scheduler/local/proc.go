package local

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process handling on Linux: every executor leads its own process group, so
// one signal reaches it and every child it did not move elsewhere; the
// scheduler is a child subreaper, so processes orphaned by an executor that
// died are re-parented to it and can still be found, stopped and reaped.

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER from <linux/prctl.h>.
const prSetChildSubreaper = 36

// becomeSubreaper makes orphaned descendants children of this process.
func becomeSubreaper() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return e
	}
	return nil
}

// children lists the pids whose parent is this process, from /proc.
func children() []int {
	me := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := stat(pid); ok && ppid == me {
			out = append(out, pid)
		}
	}
	return out
}

// stat reads the parent pid and state letter of a process.
func stat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	_, st, ok := stat(pid)
	return ok && st != 'Z' && st != 'X'
}

// signalGroup signals a process group, and the process itself in case it
// left the group.
func signalGroup(pid int, sig syscall.Signal) {
	_ = syscall.Kill(-pid, sig)
	_ = syscall.Kill(pid, sig)
}

// reap collects exited orphans (not the executors, which os/exec waits for).
func reap(skip map[int]bool) {
	for _, pid := range children() {
		if skip[pid] {
			continue
		}
		if _, st, ok := stat(pid); ok && (st == 'Z' || st == 'X') {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// stopOrphans terminates every child that is not an executor (orphans an
// executor left behind), SIGTERM first and SIGKILL after grace, and reaps
// them. Orphans of orphans arrive as their parents die, so it repeats until
// none are left or the deadline passes.
//
// Each round lists the executors and the children, and signals, with mu
// held: the lock under which executors are started and recorded. An
// executor started meanwhile is thus in both lists or in neither, never
// taken for an orphan; and a listed orphan stays an unreaped child (only
// reap, under mu, reaps orphans), so its pid cannot be reused before the
// signal.
func stopOrphans(mu sync.Locker, executors func() map[int]bool, grace time.Duration) error {
	deadline := time.Now().Add(grace)
	termed := map[int]bool{}
	for {
		mu.Lock()
		skip := executors()
		reap(skip)
		var left []int
		for _, pid := range children() {
			if !skip[pid] && alive(pid) {
				left = append(left, pid)
			}
		}
		for _, pid := range left {
			if !termed[pid] {
				signalGroup(pid, syscall.SIGTERM)
				termed[pid] = true
			} else if time.Now().After(deadline) {
				signalGroup(pid, syscall.SIGKILL)
			}
		}
		mu.Unlock()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			return errors.New("processes left after SIGKILL: " + strconv.Itoa(len(left)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
