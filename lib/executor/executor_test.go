package executor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/executor"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/stmgr"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/tmstats"

	"google.golang.org/protobuf/proto"
)

const (
	shuffle = apipb.Grouping_SHUFFLE
	fields  = apipb.Grouping_FIELDS
	all     = apipb.Grouping_ALL
	lowest  = apipb.Grouping_LOWEST
)

// Two containers, every grouping: each tuple arrives exactly once through a
// shuffle chain; equal keys meet in one task; all reaches every task;
// global reaches only the lowest task. The stats port then answers with
// the same counts.
func TestGroupingsAcrossContainers(t *testing.T) {
	comps := []comp{
		{name: "numbers", spout: true, par: 2, cmd: `exec awk -v t="$HERON_TASK_ID" 'BEGIN{for(i=1;i<=5000;i++) print t "-" i}'`},
		{name: "words", spout: true, par: 2, fields: []string{"word"}, cmd: `exec awk 'BEGIN{for(i=1;i<=3000;i++) print "w" (i%17)}'`},
		{name: "relay", par: 3, cmd: "exec cat", inputs: []input{{from: "numbers", grouping: shuffle}}},
		{name: "exact", par: 2, cmd: sinkCmd("exact"), inputs: []input{{from: "relay", grouping: shuffle}}},
		{name: "byword", par: 3, cmd: sinkCmd("fields"), inputs: []input{{from: "words", grouping: fields, fields: []string{"word"}}}},
		{name: "everyone", par: 2, cmd: sinkCmd("all"), inputs: []input{{from: "words", grouping: all}}},
		{name: "lowest", par: 3, cmd: sinkCmd("global"), inputs: []input{{from: "words", grouping: lowest}}},
	}
	c := newCluster(t, comps, nil, 2, "")
	c.waitRunning()
	c.waitCount("exact.*", 10000, 60*time.Second)
	c.waitCount("fields.*", 6000, 30*time.Second)
	c.waitCount("all.*", 12000, 30*time.Second)
	c.waitCount("global.*", 6000, 30*time.Second)

	seen := map[string]int{}
	for _, ls := range c.lines("exact.*") {
		for _, l := range ls {
			seen[l]++
		}
	}
	for task := 1; task <= 2; task++ {
		for i := 1; i <= 5000; i++ {
			if n := seen[fmt.Sprintf("%d-%d", task, i)]; n != 1 {
				t.Fatalf("tuple %d-%d arrived %d times", task, i, n)
			}
		}
	}
	if len(seen) != 10000 {
		t.Fatalf("%d distinct tuples arrived, want 10000", len(seen))
	}

	owner := map[string]string{}
	for f, ls := range c.lines("fields.*") {
		for _, w := range ls {
			if o, ok := owner[w]; ok && o != f {
				t.Fatalf("word %s went to %s and %s", w, o, f)
			}
			owner[w] = f
		}
	}
	if len(owner) != 17 {
		t.Fatalf("%d distinct words, want 17", len(owner))
	}
	for f, ls := range c.lines("all.*") {
		if len(ls) != 6000 {
			t.Fatalf("%s got %d tuples from an all grouping, want 6000", f, len(ls))
		}
	}
	global := c.lines("global.*")
	var lowestID int32 = 1 << 30
	for _, cp := range c.pack.GetContainerPlans() {
		for _, ip := range cp.GetInstancePlans() {
			if ip.GetComponentName() == "lowest" && ip.GetTaskId() < lowestID {
				lowestID = ip.GetTaskId()
			}
		}
	}
	for f, ls := range global {
		want := 0
		if f == "global."+strconv.Itoa(int(lowestID)) {
			want = 6000
		}
		if len(ls) != want {
			t.Fatalf("%s got %d tuples from a global grouping, want %d", f, len(ls), want)
		}
	}

	// The stats protocol: all-time sums of what the metrics managers sent.
	sc := tmstats.NewClient("127.0.0.1", int(c.tmanager().GetStatsPort()))
	want := map[string]float64{"numbers|__emit-count/default": 10000, "relay|__execute-count/default": 10000,
		"relay|__execute-count/numbers/default": 10000, "exact|__execute-count/default": 10000, "everyone|__execute-count/words/default": 12000}
	err := testserver.Poll(context.Background(), 30*time.Second, func() error {
		for k, v := range want {
			comp, metric, _ := strings.Cut(k, "|")
			resp, err := sc.Metrics(context.Background(), &tmanagerpb.MetricRequest{ComponentName: proto.String(comp),
				Metric: []string{metric}, Interval: proto.Int64(-1)})
			if err != nil {
				return err
			}
			var sum float64
			for _, tm := range resp.GetMetric() {
				for _, im := range tm.GetMetric() {
					f, _ := strconv.ParseFloat(im.GetValue(), 64)
					sum += f
				}
			}
			if sum != v {
				return fmt.Errorf("%s: %v, want %v (status %v)", k, sum, v, resp.GetStatus())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// At-least-once in JSON mode: a bolt fails one tuple, the spout gets the
// fail with its message id, replays it, and every value reaches the sink;
// every message is finally acked.
func TestAtLeastOnceReplaysFailedTuple(t *testing.T) {
	comps := []comp{
		{name: "src", spout: true, par: 1, mode: "json", fields: []string{"v"}, cmd: role("json-spout")},
		{name: "flaky", par: 2, mode: "json", fields: []string{"v"}, cmd: role("json-failonce"), inputs: []input{{from: "src", grouping: shuffle}}},
		{name: "dst", par: 2, mode: "json", cmd: role("json-sink"), inputs: []input{{from: "flaky", grouping: fields, fields: []string{"v"}}}},
	}
	c := newCluster(t, comps, map[string]string{"topology.reliability.mode": "ATLEAST_ONCE", "topology.message.timeout.secs": "30"},
		2, "", "BENCH_N=200", "FAIL_VALUE=v-7")
	c.waitRunning()
	c.waitCount("json.*", 200, 60*time.Second)
	err := testserver.Poll(context.Background(), 30*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(c.outDir, "spout.1"))
		if err != nil {
			return err
		}
		if string(b) != `{"acked":200,"failed":1}` {
			return fmt.Errorf("spout saw %s", b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ls := range c.lines("json.*") {
		for _, l := range ls {
			seen[l]++
		}
	}
	for i := 1; i <= 200; i++ {
		if seen[fmt.Sprintf("v-%d", i)] != 1 {
			t.Fatalf("v-%d reached the sink %d times", i, seen[fmt.Sprintf("v-%d", i)])
		}
	}
}

// A killed instance is restarted and the topology goes on; so is a killed
// container once its executor is started again, with no instance left
// behind by the killed executor.
func TestKilledInstanceAndContainerComeBack(t *testing.T) {
	comps := []comp{
		{name: "tick", spout: true, par: 2, cmd: role("ticker")},
		{name: "relay", par: 2, cmd: "exec cat", inputs: []input{{from: "tick", grouping: shuffle}}},
		{name: "out", par: 2, cmd: sinkCmd("out"), inputs: []input{{from: "relay", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 2, "")
	c.waitRunning()
	c.waitCount("out.*", 200, 30*time.Second)

	// Kill one relay instance (task 3, container 1).
	pidFile := filepath.Join(c.dir(1), "container_1_relay_3.pid")
	old := readPid(t, pidFile)
	must(t, syscall.Kill(-old, syscall.SIGKILL))
	err := testserver.Poll(context.Background(), 20*time.Second, func() error {
		if p := readPid(t, pidFile); p == old {
			return fmt.Errorf("relay still has pid %d", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := c.count("out.*")
	c.waitCount("out.*", n+200, 30*time.Second)

	// Kill container 2's executor outright; its instances must not outlive it.
	var pids []int
	files, _ := filepath.Glob(filepath.Join(c.dir(2), "container_2_*.pid"))
	for _, f := range files {
		pids = append(pids, readPid(t, f))
	}
	c.procs[2].Kill()
	err = testserver.Poll(context.Background(), 10*time.Second, func() error {
		for _, p := range pids {
			if live := liveGroup(p); len(live) > 0 {
				return fmt.Errorf("instance processes %v outlived their executor", live)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c.start(2)
	n = c.count("out.*")
	c.waitCount("out.*", n+400, 60*time.Second)
	// Both sinks receive again (one of them lives in the restarted container).
	before := c.lines("out.*")
	c.waitCount("out.*", c.count("out.*")+400, 30*time.Second)
	for f, ls := range c.lines("out.*") {
		if len(ls) <= len(before[f]) {
			t.Fatalf("%s stopped receiving after the container restart", f)
		}
	}

	// Container 0 (the topology manager) dies and comes back: the containers
	// register again, the physical plan is rewritten, tuples keep flowing and
	// the controller answers.
	ctx := context.Background()
	must(t, c.store.Delete(ctx, statemgr.PhysicalPlans, c.name()))
	c.procs[0].Kill()
	c.start(0)
	c.waitRunning()
	c.waitCount("out.*", c.count("out.*")+200, 30*time.Second)
	if code, body := c.controller("/deactivate"); code != 200 {
		t.Fatalf("deactivate after a topology manager restart: %d %q", code, body)
	}
}

// deactivate stops the spouts, activate resumes them; the controller
// answers as Heron's does.
func TestDeactivateActivate(t *testing.T) {
	comps := []comp{
		{name: "tick", spout: true, par: 1, cmd: role("ticker")},
		{name: "out", par: 1, cmd: sinkCmd("out"), inputs: []input{{from: "tick", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 1, "")
	c.waitRunning()
	c.waitCount("out.*", 50, 30*time.Second)
	if code, body := c.controller("/activate"); code != 400 {
		t.Fatalf("activate of a running topology: %d %q, want 400", code, body)
	}
	if code, body := c.controller("/deactivate"); code != 200 || body != "Topology successfully deactivated" {
		t.Fatalf("deactivate: %d %q", code, body)
	}
	// Output stops: the count settles and stays put.
	stable := func() int {
		var last, same int
		err := testserver.Poll(context.Background(), 30*time.Second, func() error {
			n := c.count("out.*")
			if n == last {
				same++
			} else {
				same, last = 0, n
			}
			if same < 20 { // 1 s without a new tuple
				return fmt.Errorf("still receiving (%d)", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return last
	}
	n := stable()
	time.Sleep(500 * time.Millisecond)
	if got := c.count("out.*"); got != n {
		t.Fatalf("tuples kept coming while deactivated: %d then %d", n, got)
	}
	if code, body := c.controller("/activate"); code != 200 || body != "Topology successfully activated" {
		t.Fatalf("activate: %d %q", code, body)
	}
	c.waitCount("out.*", n+50, 30*time.Second)
	if code, _ := c.controller("/runtime_config/update"); code != 400 {
		t.Fatalf("runtime config update without configs: %d, want 400", code)
	}
	if code, body := c.controller("/runtime_config/update?topologyid=x"); code != 400 {
		t.Fatalf("wrong topology id: %d %q", code, body)
	}
	if code, body := c.controller("/runtime_config/update?runtime-config=out:my.key:5&runtime-config=top.key:7"); code != 200 || body != "Runtime config updated" {
		t.Fatalf("runtime config update: %d %q", code, body)
	}
	if code, _ := c.controller("/runtime_config/update?runtime-config=nosuch:k:1"); code != 400 {
		t.Fatalf("runtime config of an unknown component: %d, want 400", code)
	}
	err := testserver.Poll(context.Background(), 10*time.Second, func() error {
		pp, err := nodes.Client{Store: c.store}.PhysicalPlan(context.Background(), c.name())
		if err != nil {
			return err
		}
		top := pp.GetTopology()
		if v, _ := stmgr.ConfigValue(top.GetTopologyConfig(), "top.key:runtime"); v != "7" {
			return fmt.Errorf("topology config has no top.key:runtime")
		}
		if v, _ := stmgr.ConfigValue(top.GetBolts()[0].GetComp().GetConfig(), "my.key:runtime"); v != "5" {
			return fmt.Errorf("bolt config has no my.key:runtime")
		}
		if top.GetState() != apipb.TopologyState_RUNNING {
			return fmt.Errorf("state %v", top.GetState())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A bolt that never reads its stdin cannot make the executor's memory grow
// without bound: back pressure stops the spout.
func TestStuckBoltKeepsMemoryBounded(t *testing.T) {
	comps := []comp{
		{name: "flood", spout: true, par: 1, cmd: role("flood")},
		{name: "stuck", par: 1, cmd: "exec sleep 100000", inputs: []input{{from: "flood", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 1, "heron.executor.queue.highwatermark.kb: 512\nheron.executor.queue.limit.kb: 4096\n")
	c.waitRunning()
	pid := c.procs[1].PID()
	time.Sleep(3 * time.Second)
	first := rssKB(t, pid)
	time.Sleep(2 * time.Second)
	second := rssKB(t, pid)
	// 1 MiB of pipes, a few MiB of queue, the Go runtime: far below 200 MiB
	// even though the spout would write gigabytes per second.
	if second > 200<<10 || second > first+32<<10 {
		t.Fatalf("executor RSS grew from %d KiB to %d KiB with a stuck bolt", first, second)
	}
}

func rssKB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func readPid(t *testing.T, f string) int {
	t.Helper()
	var pid int
	err := testserver.Poll(context.Background(), 10*time.Second, func() error {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestParseHeronArgs(t *testing.T) {
	c := &cluster{topo: buildTopology("T", nil, nil), root: "/tmp/state", ports: map[int]ports{1: {1, 2, 3, 4, 5}}}
	a, err := executor.ParseArgs(c.argv(1))
	if err != nil {
		t.Fatal(err)
	}
	if a.Shard != 1 || a.ServerPort != 1 || a.ShellPort != 4 || a.StateManagerURI() != "file:///tmp/state" {
		t.Fatalf("parsed %+v", a)
	}
	opts, err := executor.DecodeJVMOpts("LVhYOitIZWFwRHVtcE9uT3V0T2ZNZW1vcnlFcnJvcg(61)(61)")
	if err != nil || opts != "-XX:+HeapDumpOnOutOfMemoryError" {
		t.Fatalf("decoded %q %v", opts, err)
	}
	m, err := executor.ParseRAMMap("exclaim1:536870912,word:536870912")
	if err != nil || m["word"] != 536870912 || len(m) != 2 {
		t.Fatalf("ram map %v %v", m, err)
	}
	a.StateManagerConnection = "zk1:2181, zk2:2181"
	a.StateManagerRoot = "/heron"
	if got := a.StateManagerURI(); got != "zk://zk1:2181,zk2:2181/heron" {
		t.Fatalf("zk uri %s", got)
	}
	if _, err := executor.ParseArgs([]string{"--shard=1"}); err == nil {
		t.Fatal("missing flags accepted")
	}
}

// SIGTERM stops the executor and every process of every instance (whole
// process groups, pipelines included) within the stop bound.
func TestSigtermStopsEveryChild(t *testing.T) {
	comps := []comp{
		{name: "tick", spout: true, par: 1, cmd: role("ticker") + " | cat"},
		{name: "out", par: 2, cmd: `cat | cat >> "$OUT_DIR/out.$HERON_TASK_ID"`, inputs: []input{{from: "tick", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 1, "")
	c.waitRunning()
	c.waitCount("out.*", 50, 30*time.Second)
	var groups []int
	files, _ := filepath.Glob(filepath.Join(c.dir(1), "container_1_*.pid"))
	for _, f := range files {
		groups = append(groups, readPid(t, f))
	}
	if len(groups) != 3 {
		t.Fatalf("%d instance pid files, want 3", len(groups))
	}
	must(t, syscall.Kill(c.procs[1].PID(), syscall.SIGTERM))
	select {
	case <-c.procs[1].Exited():
	case <-time.After(executor.StopGrace + 5*time.Second):
		t.Fatal("executor did not stop within its bound after SIGTERM")
	}
	if err := c.procs[1].Err(); err != nil {
		t.Fatalf("executor exited with %v after SIGTERM", err)
	}
	err := testserver.Poll(context.Background(), 5*time.Second, func() error {
		for _, g := range groups {
			if pids := liveGroup(g); len(pids) > 0 {
				return fmt.Errorf("processes %v of group %d outlived the executor", pids, g)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// liveGroup lists the processes of a process group that are not zombies.
func liveGroup(pgid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			out = append(out, pid)
		}
	}
	return out
}

// The metrics manager runs the sinks of metrics_sinks.yaml as processes
// found on PATH and writes them one JSON record per line, with Heron's
// metric names, the instances' process metrics and restarts.
func TestMetricsReachSinkProcesses(t *testing.T) {
	bin := t.TempDir()
	out := filepath.Join(t.TempDir(), "records")
	must(t, os.WriteFile(filepath.Join(bin, "heron-sink-capture"), []byte("#!/bin/sh\nexec cat >> \"$CAPTURE\"\n"), 0o755))
	sinksFile = strings.Replace(sinksYAML, "sinks: [tmanager-sink]", "sinks: [tmanager-sink, capture]", 1) +
		"capture:\n  class: heron-sink-capture\n  sink-restart-attempts: 1\n"
	defer func() { sinksFile = sinksYAML }()
	comps := []comp{
		{name: "tick", spout: true, par: 1, cmd: role("ticker")},
		{name: "out", par: 1, cmd: sinkCmd("out"), inputs: []input{{from: "tick", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 1, "", "PATH="+bin+":"+os.Getenv("PATH"), "CAPTURE="+out)
	c.waitRunning()
	want := []string{`/tick/container_1_tick_1"`, `"__emit-count/default"`, `"__jvm-memory-used-mb"`, `"__jvm-memory-mb-total","value":"256"`, `"__instance-restart-count"`,
		`/out/container_1_out_2"`, `"__execute-count/tick/default"`, `/__stmgr__/stmgr-1"`, `"__server/__tuples_from_workers"`,
		`/__tmanager__/0"`, `"metrics_mgr_id":"metricsmgr-1"`, `"metrics_mgr_id":"metricsmgr-0"`}
	err := testserver.Poll(context.Background(), 30*time.Second, func() error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				return fmt.Errorf("no %s in the sink's records", w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// SIGTERM also stops a deactivated topology, whose spouts wait.
func TestSigtermWhileDeactivated(t *testing.T) {
	comps := []comp{
		{name: "tick", spout: true, par: 1, cmd: role("ticker")},
		{name: "out", par: 1, cmd: sinkCmd("out"), inputs: []input{{from: "tick", grouping: shuffle}}},
	}
	c := newCluster(t, comps, nil, 1, "")
	c.waitRunning()
	c.waitCount("out.*", 20, 30*time.Second)
	if code, body := c.controller("/deactivate"); code != 200 {
		t.Fatalf("deactivate: %d %q", code, body)
	}
	time.Sleep(500 * time.Millisecond)
	must(t, syscall.Kill(c.procs[1].PID(), syscall.SIGTERM))
	select {
	case <-c.procs[1].Exited():
	case <-time.After(executor.StopGrace + 5*time.Second):
		t.Fatal("a deactivated executor did not stop after SIGTERM")
	}
}
