package local

import (
	"context"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/freeport"
	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/scheduler"
)

// newTestSupervisor runs the fixture's topology under a supervisor in this
// process (no HTTP server), stopped at cleanup.
func newTestSupervisor(t *testing.T) (*fixture, *supervisor) {
	t.Helper()
	// As Serve does: orphans of stopped executors become our children.
	if err := becomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.serveDir(t)
	s, err := newSupervisor(context.Background(), ServeOptions{Cluster: "local", Role: "r", Environ: "default",
		Topology: "T", TopologyBin: "t.yaml"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.stopAll()
		s.store.Close()
		f.allDead(t)
	})
	if err := s.startAll(); err != nil {
		t.Fatal(err)
	}
	return f, s
}

func (s *supervisor) current(shard int) *proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[shard]
}

// An operator's restart (the scheduler's /restart) is no crash: however
// often it comes, and however young the executor, the successor starts at
// once (before restart returns) with no crash backoff counted. Before, the
// monitor treated it as a quick death and waited 1, 2, 4 ... 30 s.
func TestOperatorRestartIsNoCrash(t *testing.T) {
	_, s := newTestSupervisor(t)
	for i := range 4 {
		old := s.current(1)
		if err := s.restart(1); err != nil {
			t.Fatal(err)
		}
		p := s.current(1)
		if p == old {
			t.Fatalf("restart %d returned before executor 1 was started again", i+1)
		}
		select {
		case <-old.exited:
		default:
			t.Fatalf("restart %d left the old executor 1 running", i+1)
		}
		if !alive(p.cmd.Process.Pid) {
			t.Fatalf("restart %d: the new executor 1 (pid %d) is not running", i+1, p.cmd.Process.Pid)
		}
		s.mu.Lock()
		restarts := p.restarts
		s.mu.Unlock()
		if restarts != 0 {
			t.Fatalf("after restart %d the crash count is %d, want 0", i+1, restarts)
		}
	}
	// A crash still counts: the successor of a quick death backs off.
	p := s.current(2)
	syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	waitFor(t, "executor 2 to come back", func() bool { q := s.current(2); return q != p && q != nil })
	s.mu.Lock()
	restarts := s.procs[2].restarts
	s.mu.Unlock()
	if restarts != 1 {
		t.Errorf("after a quick crash the count is %d, want 1", restarts)
	}
}

// An operator's restart of every container leaves exactly one new executor
// per container: none of the successors is taken for an orphan of its
// predecessor and stopped (which, before, happened when one started
// between the listing of the executors and that of the children).
func TestRestartAllSparesSuccessors(t *testing.T) {
	f, s := newTestSupervisor(t)
	starts := func() int {
		n := 0
		for _, ps := range f.pids(t) {
			n += len(ps)
		}
		return n
	}
	waitFor(t, "3 executors", func() bool { return starts() == 3 })
	const rounds = 3
	for round := range rounds {
		// Executors that ran a while are restarted at once by a monitor,
		// which made the race likely.
		s.mu.Lock()
		for _, p := range s.procs {
			p.started = time.Now().Add(-time.Minute)
		}
		s.mu.Unlock()
		if err := s.restart(-1); err != nil {
			t.Fatal(err)
		}
		for shard := range 3 {
			if p := s.current(shard); !alive(p.cmd.Process.Pid) {
				t.Fatalf("executor %d (pid %d) is not running after the restart", shard, p.cmd.Process.Pid)
			}
		}
		// The fake executors record themselves once running.
		waitFor(t, "every executor to record its start", func() bool { return starts() >= 3*(round+2) })
	}
	for shard, ps := range f.pids(t) {
		if len(ps) != rounds+1 {
			t.Errorf("executor %s started %d times, want %d (a successor was stopped and started again)", shard, len(ps), rounds+1)
		}
	}
}

// stopOrphans never signals a child that was started, and recorded as an
// executor, under the lock while it runs, however the two interleave.
func TestStopOrphansSparesExecutorsStartedMeanwhile(t *testing.T) {
	if err := becomeSubreaper(); err != nil {
		t.Skip("cannot become a child subreaper:", err)
	}
	var mu sync.Mutex
	execs := map[int]*exec.Cmd{}
	executors := func() map[int]bool { // called with mu held
		m := map[int]bool{}
		for pid := range execs {
			m[pid] = true
		}
		return m
	}
	defer func() {
		for _, c := range execs {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			_ = c.Wait()
		}
	}()
	start := func(script string) *exec.Cmd {
		c := exec.Command("/bin/sh", "-c", script)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// An orphan that ignores SIGTERM keeps stopOrphans busy until grace.
	orphan := start(`trap '' TERM; while :; do sleep 0.05; done`)
	go func() { _ = orphan.Wait() }() // what reap does for real orphans
	done := make(chan error, 1)
	go func() { done <- stopOrphans(&mu, executors, time.Second) }()
	stopped := false
	for !stopped {
		mu.Lock()
		c := start("exec sleep 60")
		execs[c.Process.Pid] = c
		mu.Unlock()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			stopped = true
		case <-time.After(5 * time.Millisecond):
		}
	}
	if alive(orphan.Process.Pid) {
		t.Error("the orphan survived")
	}
	for pid := range execs {
		if !alive(pid) {
			t.Errorf("executor %d, started while orphans were stopped, was signalled (%d started)", pid, len(execs))
		}
	}
}

// The executor ports come from outside the kernel's ephemeral range (where
// any outgoing connection may take them before the executor binds them),
// never twice; a native topology's executor binds its own ports (0).
func TestFreePortsAvoidEphemeralRange(t *testing.T) {
	f := newFixture(t)
	lo, hi := freeport.EphemeralRange()
	heron := proto.Clone(f.top).(*apipb.Topology)
	var kvs []*apipb.Config_KeyValue
	for _, kv := range heron.GetTopologyConfig().GetKvs() {
		if kv.GetKey() != native.KeyNative {
			kvs = append(kvs, kv)
		}
	}
	heron.TopologyConfig.Kvs = kvs
	seen := map[string]bool{}
	for _, c := range []struct {
		topo   *apipb.Topology
		native bool
	}{{f.top, true}, {heron, false}, {heron, false}} {
		ports, err := FreePorts(c.topo, 2)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range ports {
			if c.native && selfBound[name] {
				if v != "0" {
					t.Errorf("native executor port %s = %s, want 0 (the executor binds it)", name, v)
				}
				continue
			}
			p, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("port %s = %q", name, v)
			}
			if p >= lo && p <= hi {
				t.Errorf("port %s = %d is in the ephemeral range %d-%d", name, p, lo, hi)
			}
			if seen[v] {
				t.Errorf("port %d handed out twice", p)
			}
			seen[v] = true
		}
	}
	if len(seen) != len(scheduler.RequiredPorts)-len(selfBound)+2*len(scheduler.RequiredPorts) {
		t.Errorf("%d distinct ports", len(seen))
	}
}
