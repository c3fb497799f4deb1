package nomad

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/statemgr"
	_ "github.com/heronkit/heronkit/lib/statemgr/all"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"
)

// Every job this package builds passes the real agent's job validation,
// for both drivers (the docker driver needs no docker daemon to validate).
func TestAgentValidatesJobs(t *testing.T) {
	n := testserver.StartNomad(t, testserver.NomadOptions{})
	for _, props := range [][]string{
		{KeyDriver + "=docker", KeyDockerImage + "=debian:bookworm-slim"},
		{KeyDriver + "=docker", KeyNetworkMode + "=host", KeyServiceProvider + "=consul"},
		{KeyDriver + "=raw_exec"},
		{KeyDriver + "=raw_exec", KeyUseCoreURI + "=false", KeyCoreDirectory + "=/opt/heron-core", KeyServiceRegister + "=false"},
	} {
		t.Run(strings.Join(props, ","), func(t *testing.T) {
			spec, err := buildSpec(t, append(props, KeySchedulerURI+"="+n.URL())...)
			if err != nil {
				t.Fatal(err)
			}
			jb, err := spec.Build()
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewClient(spec.Settings)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Validate(context.Background(), jb)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.ValidationErrors) > 0 || res.Error != "" {
				t.Fatalf("nomad refuses the job: %v %s", res.ValidationErrors, res.Error)
			}
			if res.Warnings != "" {
				t.Logf("nomad warns: %s", res.Warnings)
			}
		})
	}
	// And refuses a broken one, so the check means something.
	spec, err := buildSpec(t, KeySchedulerURI+"="+n.URL())
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := spec.Build()
	jb.TaskGroups[1].Name = jb.TaskGroups[0].Name
	c, _ := NewClient(spec.Settings)
	if res, err := c.Validate(context.Background(), jb); err != nil || len(res.ValidationErrors) == 0 {
		t.Errorf("duplicate group names validated: %+v %v", res, err)
	}
}

// stubExecutor stands in for heron-executor in the core package for the
// scheduler mechanics test: it records each start and its arguments in the
// container's working directory, then sleeps until Nomad stops it.
const stubExecutor = `#!/bin/sh
shard=x
for a in "$@"; do case "$a" in --shard=*) shard=${a#--shard=};; esac; done
printf '%s\n' "$@" > "args.$shard"
echo "HOST=$HOST PORTFILE=$(cat port_file) METRICS=$NOMAD_PORT_metrics_port" >> "started.$shard"
exec sleep 3600
`

func tarGz(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type mechanics struct {
	t     testing.TB
	n     *testserver.Nomad
	srv   *httptest.Server
	store statemgr.Store
	job   *scheduler.Job
	sched *Scheduler
}

func newMechanics(t testing.TB) *mechanics {
	n := testserver.StartNomad(t, testserver.NomadOptions{})
	top, dir := testTopology(t)
	core := tarGz(t, map[string]string{"heron-core/bin/heron-executor": stubExecutor})
	defn, err := nodes.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	pkgFile := filepath.Join(t.TempDir(), "topology.tar.gz")
	if _, err := pkgtar.BuildFile(pkgFile, pkgtar.Contents{TopologyDir: dir, DefnName: "WordCount.defn", Defn: defn,
		ClusterConfDir: filepath.Join(confDir, "nomad"), Override: []byte("{}\n")}, pkgtar.Limits{}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /core", func(w http.ResponseWriter, r *http.Request) { w.Write(core) })
	mux.HandleFunc("GET /pkg/topology.tar.gz", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, pkgFile) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	store, err := statemgr.Open(context.Background(), "file://"+t.TempDir(), statemgr.Options{InitTree: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := loadConfig(t, top, KeySchedulerURI+"="+n.URL(), KeyCoreURI+"="+srv.URL+"/core",
		KeyServiceProvider+"=nomad", KeyCoreFreqMapping+"=10", KeyKillTimeout+"=60",
		"heron.resources.instance.ram=33554432", "heron.resources.instance.disk=33554432")
	cfg = cfg.With(map[string]any{scheduler.KeyPackageURI: srv.URL + "/pkg/topology.tar.gz"})
	plan := pack(t, cfg, top)
	if err := (nodes.Client{Store: store}).Create(context.Background(), statemgr.PackingPlans, "WordCount", plan.Proto(), statemgr.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := (nodes.Client{Store: store}).Create(context.Background(), statemgr.Topologies, "WordCount", top, statemgr.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(zerolog.NewTestWriter(t))
	sched, err := NewScheduler(cfg, store, log)
	if err != nil {
		t.Fatal(err)
	}
	return &mechanics{t: t, n: n, srv: srv, store: store, sched: sched,
		job: &scheduler.Job{Topology: top, Plan: plan, Config: cfg, Store: store, Log: log}}
}

// started reads the stub's start records of every container, by shard.
func (m *mechanics) started() map[string][]string {
	out := map[string][]string{}
	files, _ := filepath.Glob(filepath.Join(m.n.DataDir, "alloc", "*", TaskName, "local", "started.*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		shard := strings.TrimPrefix(filepath.Ext(f), ".")
		out[shard] = append(out[shard], strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	return out
}

func (m *mechanics) waitStarts(want map[string]int) map[string][]string {
	m.t.Helper()
	var got map[string][]string
	err := testserver.Poll(context.Background(), 60*time.Second, func() error {
		got = m.started()
		for shard, n := range want {
			if len(got[shard]) != n {
				return errors.New("not yet")
			}
		}
		return nil
	})
	if err != nil {
		m.t.Fatalf("starts by shard %v, want counts %v", got, want)
	}
	return got
}

func (m *mechanics) groups() []string {
	m.t.Helper()
	j, err := m.sched.Client().Job(context.Background(), "heron-WordCount")
	if err != nil {
		m.t.Fatal(err)
	}
	var out []string
	for _, g := range j.TaskGroups {
		out = append(out, g.Name)
	}
	slices.Sort(out)
	return out
}

// The scheduler's lifecycle against a real agent with raw_exec, with a stub
// in place of heron-executor: launch (artifacts from an HTTP server, ports,
// HOST, the metrics port file, services), restart one and all containers,
// update the container count up and down, kill; and launches that fail
// leave no job behind.
func TestAgentLifecycle(t *testing.T) {
	m := newMechanics(t)
	ctx := context.Background()
	l := &Launcher{}
	res, err := l.Launch(ctx, m.job)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduler != "nomad" || len(res.Executors) != 3 {
		t.Errorf("launched %+v", res)
	}
	starts := m.waitStarts(map[string]int{"0": 1, "1": 1, "2": 1})
	for shard, lines := range starts {
		f := strings.Fields(lines[0])
		if len(f) != 3 || f[0] != "HOST=127.0.0.1" || strings.TrimPrefix(f[1], "PORTFILE=") != strings.TrimPrefix(f[2], "METRICS=") || f[2] == "METRICS=" {
			t.Errorf("shard %s started with %q", shard, lines[0])
		}
	}
	args, _ := filepath.Glob(filepath.Join(m.n.DataDir, "alloc", "*", TaskName, "local", "args.1"))
	if len(args) != 1 {
		t.Fatalf("args files %v", args)
	}
	b, _ := os.ReadFile(args[0])
	if strings.Contains(string(b), "${NOMAD") || !strings.Contains(string(b), "--shard=1\n") || !strings.Contains(string(b), "--topology-defn-file=WordCount.defn\n") {
		t.Errorf("executor args:\n%s", b)
	}
	// The package was unpacked next to the executor.
	if _, err := os.Stat(filepath.Join(filepath.Dir(args[0]), "WordCount.defn")); err != nil {
		t.Error(err)
	}
	c := nodes.Client{Store: m.store}
	loc, err := c.SchedulerLocation(ctx, "WordCount")
	if err != nil || loc.GetHttpEndpoint() != scheduler.LibraryEndpoint || len(loc.GetJobPageLink()) != 1 ||
		loc.GetJobPageLink()[0] != m.n.URL()+"/ui/jobs/heron-WordCount" {
		t.Errorf("scheduler location %v %v", loc, err)
	}
	stored, err := c.PackingPlan(ctx, "WordCount")
	if err != nil || stored.GetContainerPlans()[0].GetScheduledResource() == nil {
		t.Errorf("the stored plan is not homogeneous: %v %v", stored, err)
	}
	for _, i := range []int{0, 1, 2} {
		regs, err := m.sched.Client().Services(ctx, "metrics-heron-WordCount-"+strconv.Itoa(i))
		if err != nil || len(regs) != 1 || !slices.Equal(regs[0].Tags, []string{"WordCount-" + strconv.Itoa(i), "prometheus", "metrics", "heron"}) ||
			regs[0].Address != "127.0.0.1" || regs[0].Port == 0 {
			t.Errorf("service of container %d: %+v %v", i, regs, err)
		}
	}

	// A second launch of the same topology is refused.
	if _, err := l.Launch(ctx, m.job); exitcode.Code(err) != exitcode.Conflict {
		t.Errorf("second launch: %v", err)
	}

	if err := m.sched.Restart(ctx, "WordCount", 1); err != nil {
		t.Fatal(err)
	}
	m.waitStarts(map[string]int{"0": 1, "1": 2, "2": 1})
	if err := m.sched.Restart(ctx, "WordCount", 0); err != nil {
		t.Fatal(err)
	}
	m.waitStarts(map[string]int{"0": 2, "1": 2, "2": 1})
	if err := m.sched.Restart(ctx, "WordCount", -1); err != nil {
		t.Fatal(err)
	}
	m.waitStarts(map[string]int{"0": 3, "1": 3, "2": 2})
	if err := m.sched.Restart(ctx, "WordCount", 7); exitcode.Code(err) != exitcode.NotFound {
		t.Errorf("restart of a missing container: %v", err)
	}

	// Update to three containers, then back to two.
	cur, _ := c.PackingPlan(ctx, "WordCount")
	rr, _ := packing.New("roundrobin", packing.DefaultOptions())
	three, err := rr.Repack(m.job.Topology, packing.FromProto(cur), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.sched.Update(ctx, "WordCount", cur, three.Proto()); err != nil {
		t.Fatal(err)
	}
	if g := m.groups(); !slices.Equal(g, []string{"WordCount-0", "WordCount-1", "WordCount-2", "WordCount-3"}) {
		t.Errorf("groups after scaling up: %v", g)
	}
	// Existing containers were not restarted.
	m.waitStarts(map[string]int{"0": 3, "1": 3, "2": 2, "3": 1})
	if got, _ := c.PackingPlan(ctx, "WordCount"); !proto.Equal(got, three.Proto()) {
		t.Error("the proposed plan was not written")
	}
	if err := m.sched.Update(ctx, "WordCount", cur, three.Proto()); exitcode.Code(err) != exitcode.Conflict {
		t.Errorf("update from a stale plan: %v", err)
	}
	two, err := rr.Repack(m.job.Topology, three, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.sched.Update(ctx, "WordCount", three.Proto(), two.Proto()); err != nil {
		t.Fatal(err)
	}
	if g := m.groups(); !slices.Equal(g, []string{"WordCount-0", "WordCount-1", "WordCount-2"}) {
		t.Errorf("groups after scaling down: %v", g)
	}

	if err := m.sched.Kill(ctx, "WordCount"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.sched.Client().Job(ctx, "heron-WordCount"); !errors.Is(err, ErrNotFound) {
		t.Errorf("job after kill: %v", err)
	}
	allocs, err := m.sched.Client().AllocationsByJob(ctx, "heron-WordCount")
	for _, a := range allocs {
		if !a.Terminal() {
			t.Errorf("allocation %s (%s) is %s after kill", a.ID, a.TaskGroup, a.ClientStatus)
		}
	}
	if err != nil {
		t.Error(err)
	}
	for _, i := range []int{0, 1, 2, 3} {
		if regs, err := m.sched.Client().Services(ctx, "metrics-heron-WordCount-"+strconv.Itoa(i)); err != nil || len(regs) != 0 {
			t.Errorf("service of container %d after kill: %+v %v", i, regs, err)
		}
	}
	// Killing again finds nothing to do.
	if err := m.sched.Kill(ctx, "WordCount"); err != nil {
		t.Errorf("second kill: %v", err)
	}
}

// A launch whose containers cannot start (a core package that is not
// there) or cannot be placed fails and purges its job.
func TestAgentFailedLaunchLeavesNothing(t *testing.T) {
	m := newMechanics(t)
	ctx := context.Background()
	l := &Launcher{}
	for name, prop := range map[string]string{
		"missing core":     KeyCoreURI + "=" + m.srv.URL + "/missing",
		"too large for it": KeyCoreFreqMapping + "=100000000",
	} {
		t.Run(name, func(t *testing.T) {
			job := *m.job
			job.Config = job.Config.With(map[string]any{strings.SplitN(prop, "=", 2)[0]: strings.SplitN(prop, "=", 2)[1]})
			_, err := l.Launch(ctx, &job)
			if err == nil {
				t.Fatal("launch succeeded")
			}
			t.Logf("launch failed as it should: %v", err)
			if _, err := m.sched.Client().Job(ctx, "heron-WordCount"); !errors.Is(err, ErrNotFound) {
				t.Errorf("job left after a failed launch: %v", err)
			}
			allocs, _ := m.sched.Client().AllocationsByJob(ctx, "heron-WordCount")
			for _, a := range allocs {
				if !a.Terminal() {
					t.Errorf("allocation %s is %s", a.ID, a.ClientStatus)
				}
			}
			if _, err := (nodes.Client{Store: m.store}).SchedulerLocation(ctx, "WordCount"); !errors.Is(err, statemgr.ErrNotFound) {
				t.Errorf("scheduler location after a failed launch: %v", err)
			}
		})
	}
}
