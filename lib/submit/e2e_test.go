package submit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/scheduler/local"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/tmstats"
)

// TestMain lets this test binary be the local scheduler process, which the
// local launcher starts as "heron-submit local-scheduler ...".
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "heron-submit" && len(os.Args) > 1 && os.Args[1] == "local-scheduler" {
		o, err := local.ParseServeArgs(os.Args[2:])
		if err == nil {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			err = local.Serve(ctx, o, zerolog.New(os.Stderr).With().Timestamp().Logger())
			stop()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err == nil {
		local.SchedulerCommand = func() (local.Command, error) {
			return local.Command{Path: exe, Args: []string{"heron-submit", "local-scheduler"}}, nil
		}
	}
	os.Exit(m.Run())
}

const wordCount = `name: WordCount
config:
  topology.stmgrs: %d
  topology.update.reactivate.wait.secs: 60
spouts:
  - name: sentences
    command: ./sentences.sh
    parallelism: 2
bolts:
  - name: split
    command: "tr -s ' ' '\n'"
    parallelism: 2
    outputs: [{stream: default, fields: [word]}]
  - name: count
    command: "awk '{ n[$1]++; print $1, n[$1]; fflush() }'"
    parallelism: 2
streams:
  - {from: sentences, to: split}
  - {from: split, to: count, grouping: fields, fields: [word]}
`

// e2e is a local cluster in a temp HOME with the repository's conf/local.
type e2e struct {
	home, yaml string
	target     Target
	opts       Options
}

func newE2E(t testing.TB, containers int) *e2e {
	if _, err := exec.LookPath("heron-executor"); err != nil {
		testserver.Missing(t, "heron-executor on PATH", "run make build and put bin/ on PATH (make test does)")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	conf, err := filepath.Abs("../../conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, "topo")
	os.MkdirAll(dir, 0o755)
	y := filepath.Join(dir, "wordcount.yaml")
	os.WriteFile(y, fmt.Appendf(nil, wordCount, containers), 0o644)
	os.WriteFile(filepath.Join(dir, "sentences.sh"), []byte("#!/bin/sh\nwhile :; do echo the cow jumped over the moon; sleep 0.2; done\n"), 0o755)
	return &e2e{home: home, yaml: y,
		target: Target{Cluster: "local", Role: "tester", ConfigPath: conf,
			Properties: []string{"heron.metrics.export.interval.sec=1"}},
		opts: Options{Log: zerolog.Nop()}}
}

func (e *e2e) store(t testing.TB) statemgr.Store {
	cfg, err := LoadConfig(e.target, "WordCount", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitUntil(t testing.TB, what string, limit time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", limit, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *e2e) pplanState(store statemgr.Store) func() (apipb.TopologyState, error) {
	return func() (apipb.TopologyState, error) {
		return TopologyState(context.Background(), store, "WordCount")
	}
}

// procsIn lists live processes whose working directory is under dir.
func procsIn(dir string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || !strings.HasPrefix(cwd, dir) {
			continue
		}
		if processAlive(mustAtoi(e.Name())) {
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return out
}

func mustAtoi(s string) int { n, _ := strconv.Atoi(s); return n }

// cleanup stops a scheduler a failed test left running (it is detached, so
// it would outlive the test).
func (e *e2e) cleanup(wd string) {
	if pid, ok := local.Running(wd); ok {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
}

// The end-to-end run the issue asks for, with the real heron-executor.
func TestLocalLifecycle(t *testing.T) {
	e := newE2E(t, 2)
	ctx := context.Background()
	res, err := Submit(ctx, e.opts, SubmitRequest{Target: e.target, File: e.yaml})
	if err != nil {
		t.Fatal(err)
	}
	wd := res.Topologies[0].Launch.WorkingDirectory
	t.Cleanup(func() { e.cleanup(wd) })
	store := e.store(t)
	c := nodes.Client{Store: store}

	waitUntil(t, "the physical plan", time.Minute, func() error {
		pp, err := c.PhysicalPlan(ctx, "WordCount")
		if err == nil && len(pp.GetInstances()) != 6 {
			return fmt.Errorf("%d instances", len(pp.GetInstances()))
		}
		return err
	})
	loc, err := c.TManagerLocation(ctx, "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	stats := tmstats.NewClient(loc.GetHost(), int(loc.GetStatsPort()))
	waitUntil(t, "emit-count metrics of the spout", 90*time.Second, func() error {
		r, err := stats.Metrics(ctx, &tmanagerpb.MetricRequest{ComponentName: proto.String("sentences"), Metric: []string{"__emit-count/default"}, Interval: proto.Int64(-1)})
		if err != nil {
			return err
		}
		for _, tm := range r.GetMetric() {
			for _, m := range tm.GetMetric() {
				if v, err := strconv.ParseFloat(m.GetValue(), 64); err == nil && v > 0 {
					return nil
				}
			}
		}
		return fmt.Errorf("no emit count yet: %v", r)
	})

	cfg, err := LoadConfig(e.target, "WordCount", "")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Deactivate(ctx, e.opts, cfg, "WordCount"); err != nil || r.State != "PAUSED" {
		t.Fatalf("deactivate: %+v %v", r, err)
	}
	waitUntil(t, "PAUSED in the physical plan", 30*time.Second, func() error {
		if st, err := e.pplanState(store)(); err != nil || st != apipb.TopologyState_PAUSED {
			return fmt.Errorf("state %v %v", st, err)
		}
		return nil
	})
	if _, err := Activate(ctx, e.opts, cfg, "WordCount"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "RUNNING in the physical plan", 30*time.Second, func() error {
		if st, err := e.pplanState(store)(); err != nil || st != apipb.TopologyState_RUNNING {
			return fmt.Errorf("state %v %v", st, err)
		}
		return nil
	})

	pidOf := func(shard int) string {
		b, _ := os.ReadFile(filepath.Join(wd, fmt.Sprintf("heron-executor-%d.pid", shard)))
		return strings.TrimSpace(string(b))
	}
	before := pidOf(1)
	if _, err := Restart(ctx, e.opts, cfg, "WordCount", 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "executor 1 to come back with a new pid", 30*time.Second, func() error {
		if p := pidOf(1); p == "" || p == before {
			return fmt.Errorf("pid %q", p)
		}
		return nil
	})
	// The update follows the restart at once: the restarted container
	// registers again (whether it first saw the old packing plan or the
	// new one) and the physical plan covers every container.
	if _, err := Update(ctx, e.opts, cfg, "WordCount", UpdateRequest{Parallelism: map[string]int{"count": 3}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "7 instances in the physical plan, with stmgr-1 registered anew", time.Minute, func() error {
		pp, err := c.PhysicalPlan(ctx, "WordCount")
		if err != nil {
			return err
		}
		if len(pp.GetInstances()) != 7 || len(pp.GetStmgrs()) != 3 || pp.GetTopology().GetState() != apipb.TopologyState_RUNNING {
			return fmt.Errorf("%d instances, %d stream managers, %v", len(pp.GetInstances()), len(pp.GetStmgrs()), pp.GetTopology().GetState())
		}
		for _, sm := range pp.GetStmgrs() {
			if sm.GetId() == "stmgr-1" && strconv.Itoa(int(sm.GetPid())) != pidOf(1) {
				return fmt.Errorf("stmgr-1 has pid %d, not the restarted executor's %s", sm.GetPid(), pidOf(1))
			}
		}
		return nil
	})
	// Tuples flow again, through every container: each spout and split
	// instance of the new plan counts new tuples. (count is left out: tr
	// block-buffers its output into a pipe, so split's words reach it in
	// bursts tens of seconds apart.)
	pp, err := c.PhysicalPlan(ctx, "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	metric := map[string]string{"sentences": "__emit-count/default", "split": "__execute-count/default"}
	counts := func() (map[string]float64, error) {
		out := map[string]float64{}
		for comp, name := range metric {
			r, err := stats.Metrics(ctx, &tmanagerpb.MetricRequest{ComponentName: proto.String(comp), Metric: []string{name}, Interval: proto.Int64(-1)})
			if err != nil {
				return nil, err
			}
			for _, tm := range r.GetMetric() {
				for _, m := range tm.GetMetric() {
					if v, err := strconv.ParseFloat(m.GetValue(), 64); err == nil {
						out[tm.GetInstanceId()] += v
					}
				}
			}
		}
		return out, nil
	}
	var want []string
	for _, in := range pp.GetInstances() {
		if metric[in.GetInfo().GetComponentName()] != "" {
			want = append(want, in.GetInstanceId())
		}
	}
	seen, err := counts()
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "tuples through every container of the new plan", 90*time.Second, func() error {
		now, err := counts()
		if err != nil {
			return err
		}
		for _, k := range want {
			if now[k] <= seen[k] {
				return fmt.Errorf("%s counted nothing new (%v)", k, now)
			}
		}
		return nil
	})

	if _, err := Kill(ctx, e.opts, cfg, "WordCount"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "every process of the topology to end", 30*time.Second, func() error {
		if left := procsIn(wd); len(left) > 0 {
			return fmt.Errorf("still running: %v", left)
		}
		return nil
	})
	for _, k := range statemgr.Kinds {
		if names, _ := store.List(ctx, k); len(names) > 0 {
			t.Errorf("state left under %s: %v", k, names)
		}
	}
	if _, err := Kill(ctx, e.opts, cfg, "WordCount"); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("second kill: %v", err)
	}
}

// A launch that fails rolls every step back: no state, no package.
func TestSubmitRollsBack(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PATH", t.TempDir()) // no heron-executor anywhere
	conf, _ := filepath.Abs("../../conf")
	dir := filepath.Join(home, "topo")
	os.MkdirAll(dir, 0o755)
	y := filepath.Join(dir, "wordcount.yaml")
	os.WriteFile(y, fmt.Appendf(nil, wordCount, 2), 0o644)
	os.WriteFile(filepath.Join(dir, "sentences.sh"), []byte("#!/bin/sh\n"), 0o755)
	orig := local.SchedulerCommand
	t.Cleanup(func() { local.SchedulerCommand = orig })
	local.SchedulerCommand = func() (local.Command, error) { return local.Command{}, fmt.Errorf("no scheduler here") }
	target := Target{Cluster: "local", Role: "tester", ConfigPath: conf}
	_, err := Submit(context.Background(), Options{Log: zerolog.Nop()}, SubmitRequest{Target: target, File: y})
	if err == nil {
		t.Fatal("submit without an executor succeeded")
	}
	cfg, _ := LoadConfig(target, "WordCount", "")
	store, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, k := range statemgr.Kinds {
		if names, _ := store.List(context.Background(), k); len(names) > 0 {
			t.Errorf("state left under %s after a failed submit: %v", k, names)
		}
	}
	pkg := filepath.Join(home, ".herondata/repository/topologies/local/tester/WordCount/WordCount-tester-tag-0.tar.gz")
	if _, err := os.Stat(pkg); !os.IsNotExist(err) {
		t.Errorf("the uploaded package stayed after the rollback: %v", err)
	}
}

// BenchmarkLocalSubmitKill reports the time from submit to a complete
// physical plan, and the kill time, for a 3-container topology.
func BenchmarkLocalSubmitKill(b *testing.B) {
	e := newE2E(b, 3)
	ctx := context.Background()
	store := e.store(b)
	c := nodes.Client{Store: store}
	cfg, err := LoadConfig(e.target, "WordCount", "")
	if err != nil {
		b.Fatal(err)
	}
	var running, killing time.Duration
	for b.Loop() {
		start := time.Now()
		res, err := Submit(ctx, e.opts, SubmitRequest{Target: e.target, File: e.yaml})
		if err != nil {
			b.Fatal(err)
		}
		if res.Topologies[0].Containers != 3 {
			b.Fatalf("%d containers", res.Topologies[0].Containers)
		}
		for {
			pp, err := c.PhysicalPlan(ctx, "WordCount")
			if err == nil && len(pp.GetInstances()) == 6 && len(pp.GetStmgrs()) == 3 {
				break
			}
			if time.Since(start) > 2*time.Minute {
				b.Fatal("no complete physical plan after 2 minutes")
			}
			time.Sleep(5 * time.Millisecond)
		}
		running += time.Since(start)
		start = time.Now()
		if _, err := Kill(ctx, e.opts, cfg, "WordCount"); err != nil {
			b.Fatal(err)
		}
		killing += time.Since(start)
	}
	b.ReportMetric(float64(running.Milliseconds())/float64(b.N), "ms-submit-to-running")
	b.ReportMetric(float64(killing.Milliseconds())/float64(b.N), "ms-kill")
}
