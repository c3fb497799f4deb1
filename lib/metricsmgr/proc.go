package metricsmgr

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/heronkit/heronkit/lib/stmgr"
)

// clockTicks is USER_HZ, 100 on every Linux platform Go supports.
const clockTicks = 100

// ProcUsage is the CPU and memory of a process group, read from /proc.
type ProcUsage struct {
	UserTicks, SysTicks uint64
	RSSBytes            uint64
	Procs               int
	Start               time.Time
}

// ReadGroup sums the usage of every process in process group pgid.
func ReadGroup(pgid int) (ProcUsage, bool) {
	var u ProcUsage
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return u, false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := readStat(pid)
		// The group, or the process itself when it leads no group (the
		// executor may not be a group leader).
		if !ok || (st.pgrp != pgid && pid != pgid) {
			continue
		}
		u.Procs++
		u.UserTicks += st.utime
		u.SysTicks += st.stime
		u.RSSBytes += st.rssPages * uint64(os.Getpagesize())
		if pid == pgid {
			u.Start = st.start
		}
	}
	return u, u.Procs > 0
}

type stat struct {
	pgrp                   int
	utime, stime, rssPages uint64
	start                  time.Time
}

var bootTime = sync.OnceValue(func() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if bytes.HasPrefix(line, []byte("btime ")) {
			s, _ := strconv.ParseInt(string(bytes.TrimSpace(line[6:])), 10, 64)
			return time.Unix(s, 0)
		}
	}
	return time.Time{}
})

// readStat parses /proc/<pid>/stat (fields after the parenthesised name).
func readStat(pid int) (stat, bool) {
	var s stat
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return s, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); pgrp is field 5, utime 14, stime 15,
	// starttime 22, rss 24.
	if len(f) < 22 {
		return s, false
	}
	num := func(k int) uint64 { v, _ := strconv.ParseUint(string(f[k-3]), 10, 64); return v }
	s.pgrp = int(num(5))
	s.utime, s.stime = num(14), num(15)
	s.rssPages = num(24)
	if bt := bootTime(); !bt.IsZero() {
		s.start = bt.Add(time.Duration(num(22)) * time.Second / clockTicks)
	}
	return s, true
}

// Sampler turns successive readings of process groups into metrics.
type Sampler struct {
	mu   sync.Mutex
	prev map[int]sample
}

type sample struct {
	at    time.Time
	ticks uint64
}

// Names of Heron's JVM metrics that native processes also publish, with
// the meaning they get here.
const (
	// MetricCPULoad is the CPU the process group used since the previous
	// sample, in cores (1 = one core busy all the time; up to the number
	// of cores). Heron's JVM metric is the same unit: the JVM's process
	// CPU load (a fraction of the whole machine) times the number of
	// processors. Heron UI's CPU colouring, and ours (lib/ui), read it
	// that way: its thresholds are 1, 1.5 and 2 cores.
	MetricCPULoad = "__jvm-process-cpu-load"
	// MetricMemoryUsed is the process group's resident set size in MB.
	MetricMemoryUsed = "__jvm-memory-used-mb"
	// MetricMemoryTotal is, for a native instance, the RAM its packing
	// plan gives it, in MB (Heron's is the JVM's heap size). The UI's
	// memory colouring divides used by total, so it shows the share of
	// its allocation an instance uses, above 1 when it uses more.
	MetricMemoryTotal = "__jvm-memory-mb-total"
)

// MemoryTotal is the MetricMemoryTotal datum of an instance given ramBytes
// of RAM by its packing plan, or nothing when the plan gives it none.
func MemoryTotal(ramBytes int64) []stmgr.Datum {
	if ramBytes <= 0 {
		return nil
	}
	return []stmgr.Datum{{Name: MetricMemoryTotal, Value: strconv.FormatFloat(float64(ramBytes)/(1<<20), 'f', -1, 64)}}
}

// cpuLoad is the CPU in cores that ticks (USER_HZ) of CPU time over the
// interval d amount to.
func cpuLoad(ticks uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(ticks) / clockTicks / d.Seconds()
}

// Sample returns the metrics of process group pgid since the previous
// sample, with Heron's JVM names (which the UI charts) and the stream
// manager's process names: MetricCPULoad in cores, MetricMemoryUsed the
// resident set size.
func (s *Sampler) Sample(pgid int, now time.Time) []stmgr.Datum {
	u, ok := ReadGroup(pgid)
	if !ok {
		return nil
	}
	s.mu.Lock()
	if s.prev == nil {
		s.prev = map[int]sample{}
	}
	p, had := s.prev[pgid]
	ticks := u.UserTicks + u.SysTicks
	s.prev[pgid] = sample{at: now, ticks: ticks}
	s.mu.Unlock()
	var load float64
	if had && now.After(p.at) && ticks >= p.ticks {
		load = cpuLoad(ticks-p.ticks, now.Sub(p.at))
	} else if !u.Start.IsZero() && now.After(u.Start) {
		load = cpuLoad(ticks, now.Sub(u.Start))
	}
	mb := float64(u.RSSBytes) / (1 << 20)
	ds := []stmgr.Datum{
		{Name: MetricCPULoad, Value: strconv.FormatFloat(load, 'f', -1, 64)},
		{Name: MetricMemoryUsed, Value: strconv.FormatFloat(mb, 'f', 3, 64)},
		{Name: "__process/__cpu_user_usec", Value: strconv.FormatUint(u.UserTicks*(1e6/clockTicks), 10)},
		{Name: "__process/__cpu_system_usec", Value: strconv.FormatUint(u.SysTicks*(1e6/clockTicks), 10)},
		{Name: "__process/__mem_used_bytes", Value: strconv.FormatUint(u.RSSBytes, 10)},
		{Name: "__process/__processes", Value: strconv.Itoa(u.Procs)},
	}
	if !u.Start.IsZero() {
		up := int64(now.Sub(u.Start).Seconds())
		ds = append(ds, stmgr.Datum{Name: "__jvm-uptime-secs", Value: strconv.FormatInt(up, 10)},
			stmgr.Datum{Name: "__process/__uptime_sec", Value: strconv.FormatInt(up, 10)})
	}
	return ds
}

// Forget drops the history of a process group that ended.
func (s *Sampler) Forget(pgid int) {
	s.mu.Lock()
	delete(s.prev, pgid)
	s.mu.Unlock()
}
