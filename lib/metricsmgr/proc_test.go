package metricsmgr

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestSamplerReadsAProcessGroup(t *testing.T) {
	// A group of two processes: sh and its sleep.
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & sleep 30; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	var u ProcUsage
	for i := 0; i < 100; i++ {
		if u, _ = ReadGroup(cmd.Process.Pid); u.Procs == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if u.Procs != 3 || u.RSSBytes == 0 || u.Start.IsZero() {
		t.Fatalf("group usage %+v", u)
	}
	var s Sampler
	ds := s.Sample(cmd.Process.Pid, time.Now())
	got := map[string]string{}
	for _, d := range ds {
		got[d.Name] = d.Value
	}
	for _, k := range []string{"__jvm-process-cpu-load", "__jvm-memory-used-mb", "__jvm-uptime-secs", "__process/__mem_used_bytes"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s in %v", k, got)
		}
	}
	if got["__process/__processes"] != "3" {
		t.Errorf("processes %q", got["__process/__processes"])
	}
	// The executor itself, whether or not it leads a group.
	if u, ok := ReadGroup(os.Getpid()); !ok || u.Procs < 1 {
		t.Fatalf("own usage %+v", u)
	}
}
