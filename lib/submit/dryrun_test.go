package submit

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/topology"
)

// The dry runs read the state and call nothing, so these tests write a
// topology's state by hand into a file state tree (the local cluster's,
// under a temporary HOME) with endpoints where nothing listens: a dry run
// that called out would fail.

const (
	dryID       = "WordCount-0123"
	drySched    = "127.0.0.1:1"
	dryTMHost   = "tm.example"
	dryTMCtlPrt = 7001
)

type dryFixture struct {
	target Target
	root   string // the state tree
	opts   Options
}

// newDryFixture writes the state of a 2-container WordCount in state st,
// without the nodes named in skip.
func newDryFixture(t *testing.T, st apipb.TopologyState, skip ...statemgr.Kind) *dryFixture {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	conf, err := filepath.Abs("../../conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, "topo")
	os.MkdirAll(dir, 0o755)
	y := filepath.Join(dir, "wordcount.yaml")
	os.WriteFile(y, fmt.Appendf(nil, wordCount, 2), 0o644)
	os.WriteFile(filepath.Join(dir, "sentences.sh"), []byte("#!/bin/sh\n"), 0o755)
	f := &dryFixture{target: Target{Cluster: "local", Role: "tester", Environ: "default", ConfigPath: conf},
		root: filepath.Join(home, ".herondata", "repository", "state", "local"), opts: Options{Log: zerolog.Nop()}}

	def, err := topology.Load(y)
	if err != nil {
		t.Fatal(err)
	}
	top, err := def.Compile(topology.CompileOptions{State: st})
	if err != nil {
		t.Fatal(err)
	}
	top.Id = proto.String(dryID)
	cfg := f.config(t)
	plan, err := pack(cfg, top)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	c := nodes.Client{Store: store}
	name := proto.String("WordCount")
	msgs := []struct {
		kind statemgr.Kind
		msg  proto.Message
	}{
		{statemgr.Topologies, topology.Trimmed(top)},
		{statemgr.PackingPlans, plan.Proto()},
		{statemgr.ExecutionState, &systempb.ExecutionState{TopologyName: name, TopologyId: proto.String(dryID),
			Cluster: proto.String("local"), Role: proto.String("tester"), Environ: proto.String("default")}},
		{statemgr.Schedulers, &schedulerpb.SchedulerLocation{TopologyName: name, HttpEndpoint: proto.String(drySched)}},
		{statemgr.TManagers, &tmanagerpb.TManagerLocation{TopologyName: name, TopologyId: proto.String(dryID),
			Host: proto.String(dryTMHost), ControllerPort: proto.Int32(dryTMCtlPrt), ServerPort: proto.Int32(7002)}},
		{statemgr.PhysicalPlans, &systempb.PhysicalPlan{Topology: topology.Trimmed(top)}},
	}
	for _, m := range msgs {
		if slices.Contains(skip, m.kind) {
			continue
		}
		if err := c.Create(ctx, m.kind, "WordCount", m.msg, statemgr.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *dryFixture) config(t *testing.T, props ...string) *config.Config {
	t.Helper()
	tg := f.target
	tg.Properties = props
	cfg, err := LoadConfig(tg, "WordCount", "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// snapshot is every file of the state tree and its bytes.
func (f *dryFixture) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(f.root, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *dryFixture) unchanged(t *testing.T, before map[string]string) {
	t.Helper()
	after := f.snapshot(t)
	if len(after) != len(before) {
		t.Fatalf("the state tree changed: %d entries before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("the state node %s changed", k)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKillDryRun(t *testing.T) {
	f := newDryFixture(t, apipb.TopologyState_RUNNING)
	// An update lock, a folder in the file state tree.
	os.MkdirAll(filepath.Join(f.root, "locks", statemgr.LockPath("WordCount", "updateTopology")), 0o755)
	before := f.snapshot(t)
	res, err := KillDryRun(context.Background(), f.opts, f.config(t), "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"kill","topology":"WordCount","cluster":"local","role":"tester","environ":"default","dry_run":true,"state":"RUNNING",` +
		`"deletes":["tmanagers/WordCount","packingplans/WordCount","pplans/WordCount","schedulers/WordCount","locks/WordCount__updateTopology","executionstate/WordCount","topologies/WordCount"],` +
		`"scheduler_call":{"scheduler":"local","mode":"service","operation":"kill","method":"POST","url":"http://127.0.0.1:1/kill","request":{"topology_name":"WordCount"}}}`
	if got := jsonOf(t, res); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	f.unchanged(t, before)
}

// Without a scheduler location there is no call to describe; the real kill
// then deletes exactly the nodes its dry run listed.
func TestKillDryRunMatchesKill(t *testing.T) {
	f := newDryFixture(t, apipb.TopologyState_RUNNING, statemgr.Schedulers, statemgr.TManagers)
	ctx := context.Background()
	dry, err := KillDryRun(ctx, f.opts, f.config(t), "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	if dry.SchedulerCall != nil || !strings.HasPrefix(dry.Note, "no scheduler location") {
		t.Fatalf("want no scheduler call and a note, got %s", jsonOf(t, dry))
	}
	res, err := Kill(ctx, f.opts, f.config(t), "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, dry.Deletes) || len(res.Deleted) != 4 {
		t.Fatalf("kill deleted %v; its dry run listed %v", res.Deleted, dry.Deletes)
	}
	if _, err := KillDryRun(ctx, f.opts, f.config(t), "WordCount"); exitcode.Code(err) != exitcode.NotFound {
		t.Fatalf("dry run of a killed topology: %v, want exit %d", err, exitcode.NotFound)
	}
}

// A library-mode scheduler (Nomad) runs in the client: no URL, and building
// it calls nothing.
func TestKillDryRunLibraryScheduler(t *testing.T) {
	f := newDryFixture(t, apipb.TopologyState_RUNNING)
	cfg := f.config(t, "heron.scheduler.is.service=false", "heron.class.scheduler=org.apache.heron.scheduler.nomad.NomadScheduler",
		"heron.nomad.scheduler.uri=http://127.0.0.1:1")
	res, err := KillDryRun(context.Background(), f.opts, cfg, "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"scheduler":"nomad","mode":"library","operation":"kill","request":{"topology_name":"WordCount"}}`
	if got := jsonOf(t, res.SchedulerCall); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// A scheduler without a library mode fails as the kill would.
	cfg = f.config(t, "heron.scheduler.is.service=false")
	if _, err := KillDryRun(context.Background(), f.opts, cfg, "WordCount"); exitcode.Code(err) != exitcode.Config {
		t.Fatalf("local scheduler as a library: %v, want exit %d", err, exitcode.Config)
	}
}

func TestActivateDeactivateDryRun(t *testing.T) {
	ctx := context.Background()
	f := newDryFixture(t, apipb.TopologyState_PAUSED)
	before := f.snapshot(t)
	res, err := ActivateDryRun(ctx, f.opts, f.config(t), "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"activate","topology":"WordCount","cluster":"local","role":"tester","environ":"default","dry_run":true,"state":"PAUSED",` +
		`"controller_call":{"method":"GET","url":"http://tm.example:7001/activate?topologyid=WordCount-0123","topology_id":"WordCount-0123"}}`
	if got := jsonOf(t, res); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Deactivating a paused topology needs no call, as without --dry-run.
	res, err = DeactivateDryRun(ctx, f.opts, f.config(t), "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	if res.ControllerCall != nil || res.Note != "already paused" || !res.DryRun {
		t.Fatalf("deactivate of a paused topology: %s", jsonOf(t, res))
	}
	f.unchanged(t, before)

	f = newDryFixture(t, apipb.TopologyState_RUNNING)
	res, err = DeactivateDryRun(ctx, f.opts, f.config(t), "WordCount")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.ControllerCall.URL; got != "http://tm.example:7001/deactivate?topologyid=WordCount-0123" {
		t.Fatalf("deactivate URL %s", got)
	}

	// Without a topology manager location the dry run fails as the command would.
	f = newDryFixture(t, apipb.TopologyState_RUNNING, statemgr.TManagers)
	if _, err := DeactivateDryRun(ctx, f.opts, f.config(t), "WordCount"); exitcode.Code(err) != exitcode.Unavailable {
		t.Fatalf("no topology manager: %v, want exit %d", err, exitcode.Unavailable)
	}
}

func TestRestartDryRun(t *testing.T) {
	ctx := context.Background()
	f := newDryFixture(t, apipb.TopologyState_RUNNING)
	before := f.snapshot(t)
	res, err := RestartDryRun(ctx, f.opts, f.config(t), "WordCount", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"restart","topology":"WordCount","cluster":"local","role":"tester","environ":"default","dry_run":true,"state":"RUNNING","container":0,` +
		`"deletes":["tmanagers/WordCount"],` +
		`"scheduler_call":{"scheduler":"local","mode":"service","operation":"restart","method":"POST","url":"http://127.0.0.1:1/restart","request":{"topology_name":"WordCount","container_index":0}}}`
	if got := jsonOf(t, res); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	res, err = RestartDryRun(ctx, f.opts, f.config(t), "WordCount", 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deletes != nil || string(res.SchedulerCall.Request) != `{"topology_name":"WordCount","container_index":2}` {
		t.Fatalf("restart of container 2: %s", jsonOf(t, res))
	}
	for _, c := range []struct{ container, code int }{{3, exitcode.NotFound}, {-2, exitcode.Usage}} {
		if _, err := RestartDryRun(ctx, f.opts, f.config(t), "WordCount", c.container); exitcode.Code(err) != c.code {
			t.Errorf("container %d: %v, want exit %d", c.container, err, c.code)
		}
	}
	f.unchanged(t, before)
}

// Unknown topologies and another role's topology fail as without --dry-run.
func TestDryRunErrors(t *testing.T) {
	ctx := context.Background()
	f := newDryFixture(t, apipb.TopologyState_RUNNING)
	cfg := f.config(t)
	runs := map[string]func(string, *config.Config) error{
		"kill":       func(n string, c *config.Config) error { _, err := KillDryRun(ctx, f.opts, c, n); return err },
		"activate":   func(n string, c *config.Config) error { _, err := ActivateDryRun(ctx, f.opts, c, n); return err },
		"deactivate": func(n string, c *config.Config) error { _, err := DeactivateDryRun(ctx, f.opts, c, n); return err },
		"restart":    func(n string, c *config.Config) error { _, err := RestartDryRun(ctx, f.opts, c, n, -1); return err },
	}
	other := f.target
	other.Role = "someone"
	otherCfg, err := LoadConfig(other, "WordCount", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range runs {
		if err := run("Nosuch", cfg); exitcode.Code(err) != exitcode.NotFound {
			t.Errorf("%s of an unknown topology: %v, want exit %d", name, err, exitcode.NotFound)
		}
		if err := run("WordCount", otherCfg); exitcode.Code(err) != exitcode.Conflict {
			t.Errorf("%s from another role: %v, want exit %d", name, err, exitcode.Conflict)
		}
	}
}
