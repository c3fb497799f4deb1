package testserver

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// descendants lists every process below pid (children, grandchildren...).
func descendants(pid int) []int {
	if pid <= 0 {
		return nil
	}
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// ProcsUnder lists the live processes whose working directory is dir or
// below it, by PID with their command lines. A local topology's scheduler,
// executors, instances and sinks all run in its working directory, so a
// test's HOME (or its .herondata/topologies) holds every one of them.
// Exited processes not yet reaped are left out.
func ProcsUnder(dir string) map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || (cwd != dir && !strings.HasPrefix(cwd, dir+"/")) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

// NoProcsUnder waits (up to 20 s) until nothing runs under dir (see
// ProcsUnder); each process left is a test error, and is SIGKILLed by PID
// (the test started it).
func NoProcsUnder(t testing.TB, dir string) {
	t.Helper()
	var left map[int]string
	_ = Poll(context.Background(), 20*time.Second, func() error {
		if left = ProcsUnder(dir); len(left) > 0 {
			return fmt.Errorf("%d processes left", len(left))
		}
		return nil
	})
	for _, pid := range slices.Sorted(maps.Keys(left)) {
		t.Errorf("process left running: %d %s (killing it)", pid, left[pid])
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// KillProcsUnder SIGKILLs, by PID, whatever runs under dir: what a failed
// test left behind.
func KillProcsUnder(dir string) {
	for pid := range ProcsUnder(dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
