package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"
)

// writeTopology writes a topology's execution state and physical plan with
// our own writers.
func writeTopology(t testing.TB, ctx context.Context, c nodes.Client, name, cluster string, instances int) {
	t.Helper()
	es := &systempb.ExecutionState{
		TopologyName: proto.String(name), TopologyId: proto.String(name + "-id"), SubmissionTime: proto.Int64(1700000000),
		SubmissionUser: proto.String("streamer"), Cluster: proto.String(cluster), Environ: proto.String("default"), Role: proto.String("streamer"),
	}
	if err := c.Set(ctx, statemgr.ExecutionState, name, es); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, statemgr.PhysicalPlans, name, SyntheticPhysicalPlan(name, instances)); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, statemgr.Topologies, name, &apipb.Topology{Id: proto.String(name + "-id"), Name: proto.String(name), State: apipb.TopologyState_RUNNING.Enum()}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func names(s *Snapshot) string {
	var n []string
	for _, t := range s.Topologies {
		n = append(n, t.StateManager+"/"+t.Name)
	}
	return strings.Join(n, ",")
}

func run(t *testing.T, cfg *Config) *Tracker {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tr := New(cfg, Options{OpenTimeout: 5 * time.Second, RetryInterval: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-tr.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	return tr
}

// TestManyStateManagers follows a ZooKeeper and a local tree at once, with
// topologies added and removed while a client keeps reading snapshots.
func TestManyStateManagers(t *testing.T) {
	zk := testserver.StartZooKeeper(t)
	ctx := context.Background()
	zs, err := statemgr.Open(ctx, zk.URI("/heron"), statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer zs.Close()
	dir := t.TempDir()
	fs, err := statemgr.Open(ctx, "file://"+dir, statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	writeTopology(t, ctx, nodes.Client{Store: zs}, "Alpha", "zkc", 4)
	writeTopology(t, ctx, nodes.Client{Store: fs}, "Alpha", "local", 2)

	tr := run(t, &Config{StateManagers: []StateManager{
		{Type: "zookeeper", Name: "zkc", HostPort: zk.Addr(), RootPath: "/heron"},
		{Type: "file", Name: "local", RootPath: dir},
	}})
	if got := names(tr.Snapshot()); got != "local/Alpha,zkc/Alpha" {
		t.Fatalf("after start: %s", got)
	}
	// Same name in two state managers: cluster tells them apart.
	a, err := tr.Snapshot().Lookup("zkc", "default", "Alpha", "")
	if err != nil || len(a.Instances) != 4 {
		t.Fatalf("zk Alpha: %v %v", a, err)
	}

	// A client polls all along; every snapshot it sees must be consistent.
	stop := make(chan struct{})
	polls := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				polls <- n
				return
			default:
			}
			for _, tp := range tr.Snapshot().Topologies {
				if tp.Views != nil && !json.Valid(tp.Views.PhysicalPlan) {
					panic("invalid JSON served")
				}
			}
			n++
		}
	}()

	writeTopology(t, ctx, nodes.Client{Store: zs}, "Beta", "zkc", 3)
	// The name shows up with topologies/Beta; a lookup by role also needs
	// executionstate/Beta, which arrives through its own watch.
	waitFor(t, "Beta in ZooKeeper", func() bool {
		_, err := tr.Snapshot().Lookup("zkc", "default", "Beta", "streamer")
		return strings.Contains(names(tr.Snapshot()), "zkc/Beta") && err == nil
	})
	b, err := tr.Snapshot().Lookup("zkc", "default", "Beta", "streamer")
	if err != nil || len(b.Instances) != 3 {
		t.Fatalf("Beta: %v", err)
	}
	// A changed plan shows up.
	if err := (nodes.Client{Store: zs}).Set(ctx, statemgr.PhysicalPlans, "Beta", SyntheticPhysicalPlan("Beta", 5)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Beta's new plan", func() bool {
		b, err := tr.Snapshot().Lookup("zkc", "default", "Beta", "")
		return err == nil && len(b.Instances) == 5
	})
	// Removal in both backends.
	for _, k := range []statemgr.Kind{statemgr.Topologies, statemgr.PhysicalPlans, statemgr.ExecutionState} {
		_ = zs.Delete(ctx, k, "Alpha")
		_ = fs.Delete(ctx, k, "Alpha")
	}
	waitFor(t, "Alpha gone", func() bool { return names(tr.Snapshot()) == "zkc/Beta" })
	if _, err := tr.Snapshot().Lookup("local", "default", "Alpha", ""); !errors.Is(err, ErrTopologyNotFound) {
		t.Errorf("removed topology still found: %v", err)
	}
	close(stop)
	if n := <-polls; n == 0 {
		t.Error("the client never read")
	}

	// ZooKeeper goes away: its state manager is reported, the other keeps working.
	zk.Stop()
	writeTopology(t, ctx, nodes.Client{Store: fs}, "Gamma", "local", 1)
	waitFor(t, "Gamma while ZooKeeper is down", func() bool { return strings.Contains(names(tr.Snapshot()), "local/Gamma") })
	zk.Start()
	waitFor(t, "ZooKeeper back", func() bool { return tr.Status()["zkc"] == nil && strings.Contains(names(tr.Snapshot()), "zkc/Beta") })
}

// TestCorruptNodeIsolated: a node that does not parse marks its topology,
// the others are unaffected; fixing the node clears the error.
func TestCorruptNodeIsolated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := statemgr.Open(ctx, "file://"+dir, statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	c := nodes.Client{Store: fs}
	writeTopology(t, ctx, c, "Good", "local", 2)
	writeTopology(t, ctx, c, "Bad", "local", 2)
	if err := fs.Set(ctx, statemgr.ExecutionState, "Worse", []byte("\xff\xfe not proto")); err != nil {
		t.Fatal(err)
	}
	_ = fs.Set(ctx, statemgr.Topologies, "Worse", []byte("x"))
	tr := run(t, &Config{StateManagers: []StateManager{{Type: "file", Name: "local", RootPath: dir}}})
	if _, err := tr.Snapshot().Lookup("local", "default", "Good", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Snapshot().Lookup("local", "default", "Worse", ""); err == nil || !strings.Contains(err.Error(), "corrupt state node executionstate/Worse") {
		t.Errorf("Worse: %v", err)
	}
	if err := fs.Set(ctx, statemgr.PhysicalPlans, "Bad", []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Bad reported", func() bool {
		_, err := tr.Snapshot().Lookup("local", "default", "Bad", "")
		return err != nil && strings.Contains(err.Error(), "pplans/Bad")
	})
	if _, err := tr.Snapshot().Lookup("local", "default", "Good", ""); err != nil {
		t.Errorf("Good affected: %v", err)
	}
	writeTopology(t, ctx, c, "Bad", "local", 3)
	waitFor(t, "Bad repaired", func() bool {
		b, err := tr.Snapshot().Lookup("local", "default", "Bad", "")
		return err == nil && len(b.Instances) == 3
	})
}

// TestFixtureState reads the state Heron itself wrote.
func TestFixtureState(t *testing.T) {
	tr := run(t, &Config{StateManagers: []StateManager{{Type: "file", Name: "local", RootPath: filepath.Join("testdata", "heron-state", "local")}}})
	tp, err := tr.Snapshot().Lookup("local", "default", "ExclamationTopology", "heron-user")
	if err != nil {
		t.Fatal(err)
	}
	if tp.Views.Status != "Running" || len(tp.Instances) != 6 || fmt.Sprint(tp.Components) != "[word exclaim1 exclaim2]" || tp.TManager.GetStatsPort() == 0 {
		t.Errorf("got %+v", tp)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "heron_tracker.yaml")
	os.WriteFile(p, []byte("statemgrs:\n  - {type: file, name: local, rootpath: ~/.herondata/repository/state/local, tunnelhost: 127.0.0.1}\n  - {type: zookeeper, name: zk, hostport: 'a:2181,b:2181', rootpath: /heron}\nextra.links:\n  - {name: Viz, formatter: 'http://v/$CLUSTER/${TOPOLOGY}'}\n"), 0o644)
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if u, _ := c.StateManagers[1].URI(); u != "zk://a:2181,b:2181/heron" {
		t.Errorf("zk URI %s", u)
	}
	if u, _ := c.StateManagers[0].URI(); !strings.HasSuffix(u, "/.herondata/repository/state/local") || strings.Contains(u, "~") {
		t.Errorf("file URI %s", u)
	}
	c.Override(StateManager{Name: "renamed", RootPath: "/srv/state"})
	if c.StateManagers[0].Name != "renamed" || c.StateManagers[0].Type != "file" || c.StateManagers[1].Name != "zk" {
		t.Errorf("override: %+v", c.StateManagers)
	}
	missing, err := LoadConfig(filepath.Join(dir, "none.yaml"))
	if err != nil || len(missing.StateManagers) != 1 || missing.Validate() == nil {
		t.Errorf("missing file: %+v %v", missing, err)
	}
	for yaml, want := range map[string]string{
		"statemgrs: [{type: file, name: a, rootpath: /x}, {type: file, name: a, rootpath: /y}]": "used twice",
		"statemgrs: [{type: nfs, name: a}]":                                                     "unknown type",
		"statemgrs: [{type: file, name: a, rootpath: /x}]\nextra.links: [{name: a}]":            "must include a 'name' and a 'formatter'",
	} {
		os.WriteFile(p, []byte(yaml), 0o644)
		c, err := LoadConfig(p)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", yaml, err, want)
		}
	}
}

// The shipped sample config must load and validate.
func TestShippedConfig(t *testing.T) {
	c, err := LoadConfig(filepath.Join("..", "..", "conf", "tracker", "heron_tracker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || c.StateManagers[0].Name != "local" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestSubstituteAndStages(t *testing.T) {
	v := map[string]string{"CLUSTER": "c", "TOPOLOGY": "t"}
	if got := substitute("a/${CLUSTER}/$TOPOLOGY/$$/${NOPE}", v); got != "a/c/t/$/${NOPE}" {
		t.Errorf("substitute = %s", got)
	}
	if s := stages(map[string][]string{"s": {"a", "b"}, "a": {"c"}, "c": {"d"}}); s != 3 {
		t.Errorf("stages = %d", s)
	}
	if s := stages(map[string][]string{"a": {"b"}, "b": {"a"}}); s < 1 {
		t.Errorf("cycle stages = %d", s)
	}
	if g := instanceGroup("container_12_my_bolt_3"); g != "container_12" {
		t.Errorf("group = %s", g)
	}
}

func FuzzDecodeJava(f *testing.F) {
	for _, h := range []string{
		"aced0005737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b02000078700000002a",
		"aced000574000a68656c6c6f2d6a617661",
		"aced0005737200136a6176612e7574696c2e41727261794c6973747881d21d99c7619d03000149000473697a65787000000002770400000002740001617400016278",
	} {
		b := make([]byte, len(h)/2)
		fmt.Sscanf(h, "%x", &b)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeJava(b)
		if err == nil {
			if _, err := pyDump(v); err != nil && !strings.Contains(err.Error(), "unsupported") {
				t.Logf("dump: %v", err)
			}
		}
	})
}
