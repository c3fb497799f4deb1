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

// The memory total of an instance is its packing plan's RAM in MB, so that
// the UI's used/total is the share of its allocation.
func TestMemoryTotal(t *testing.T) {
	ds := MemoryTotal(256 << 20)
	if len(ds) != 1 || ds[0].Name != "__jvm-memory-mb-total" || ds[0].Value != "256" {
		t.Fatalf("MemoryTotal(256 MB) = %v", ds)
	}
	if ds := MemoryTotal(1536 << 19); ds[0].Value != "768" {
		t.Errorf("MemoryTotal(768 MB) = %v", ds)
	}
	if ds := MemoryTotal(0); ds != nil {
		t.Errorf("MemoryTotal(0) = %v, want nothing", ds)
	}
}

// CPU load is in cores, the unit of Heron's metric (process CPU load times
// processors) and of the UI's thresholds (1, 1.5, 2): two cores busy for a
// second is 2, one core half the time is 0.5.
func TestCPULoadIsCores(t *testing.T) {
	for _, c := range []struct {
		ticks uint64
		d     time.Duration
		want  float64
	}{{2 * clockTicks, time.Second, 2}, {clockTicks / 2, time.Second, 0.5}, {3 * clockTicks, 60 * time.Second, 0.05}, {5, 0, 0}} {
		if got := cpuLoad(c.ticks, c.d); got != c.want {
			t.Errorf("cpuLoad(%d ticks, %s) = %v, want %v", c.ticks, c.d, got, c.want)
		}
	}
}
