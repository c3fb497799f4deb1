package executor_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/testserver"

	_ "github.com/heronkit/heronkit/lib/statemgr/localfs"
)

func TestMain(m *testing.M) {
	if r := os.Getenv("HERON_TEST_ROLE"); r != "" {
		os.Exit(runRole(r))
	}
	os.Exit(m.Run())
}

// comp is one component of a test topology.
type comp struct {
	name   string
	spout  bool
	cmd    string
	mode   string
	par    int
	fields []string
	inputs []input
}

type input struct {
	from     string
	grouping apipb.Grouping
	fields   []string
}

// role returns a command running this test binary in a role.
func role(r string) string { return "HERON_TEST_ROLE=" + r + ` exec "$TEST_BIN"` }

func buildTopology(name string, comps []comp, conf map[string]string) *apipb.Topology {
	kv := func(k, v string) *apipb.Config_KeyValue {
		return &apipb.Config_KeyValue{Key: proto.String(k), Value: proto.String(v), Type: apipb.ConfigValueType_STRING_VALUE.Enum()}
	}
	t := &apipb.Topology{Id: proto.String(name + "-0123"), Name: proto.String(name), State: apipb.TopologyState_RUNNING.Enum(),
		TopologyConfig: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv(native.KeyNative, "true")}}}
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.TopologyConfig.Kvs = append(t.TopologyConfig.Kvs, kv(k, conf[k]))
	}
	for _, c := range comps {
		mode := c.mode
		if mode == "" {
			mode = native.ModeRaw
		}
		fields := c.fields
		if len(fields) == 0 {
			fields = []string{"line"}
		}
		schema := &apipb.StreamSchema{}
		for _, f := range fields {
			schema.Keys = append(schema.Keys, &apipb.StreamSchema_KeyType{Key: proto.String(f), Type: apipb.Type_OBJECT.Enum()})
		}
		cp := &apipb.Component{Name: proto.String(c.name), ClassName: proto.String("native:" + mode),
			Config: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv(native.KeyCommand, c.cmd), kv(native.KeyMode, mode),
				kv(native.KeyParallelism, strconv.Itoa(c.par))}}}
		out := []*apipb.OutputStream{{Stream: &apipb.StreamId{Id: proto.String("default"), ComponentName: proto.String(c.name)}, Schema: schema}}
		if c.spout {
			t.Spouts = append(t.Spouts, &apipb.Spout{Comp: cp, Outputs: out})
			continue
		}
		b := &apipb.Bolt{Comp: cp, Outputs: out}
		for _, in := range c.inputs {
			is := &apipb.InputStream{Stream: &apipb.StreamId{Id: proto.String("default"), ComponentName: proto.String(in.from)}, Gtype: in.grouping.Enum()}
			if len(in.fields) > 0 {
				is.GroupingFields = &apipb.StreamSchema{}
				for _, f := range in.fields {
					is.GroupingFields.Keys = append(is.GroupingFields.Keys, &apipb.StreamSchema_KeyType{Key: proto.String(f), Type: apipb.Type_OBJECT.Enum()})
				}
			}
			b.Inputs = append(b.Inputs, is)
		}
		t.Bolts = append(t.Bolts, b)
	}
	return t
}

// roundRobin packs tasks 1.. over containers 1..n in component order, as
// Heron's round-robin packing does.
func roundRobin(comps []comp, n int) *systempb.PackingPlan {
	return packTopology(comps, n)
}

// packComps lists a topology's components and parallelism as comps.
func packComps(t *apipb.Topology) []comp {
	var out []comp
	add := func(c *apipb.Component) {
		for _, kv := range c.GetConfig().GetKvs() {
			if kv.GetKey() == native.KeyParallelism {
				p, _ := strconv.Atoi(kv.GetValue())
				out = append(out, comp{name: c.GetName(), par: p})
			}
		}
	}
	for _, s := range t.GetSpouts() {
		add(s.GetComp())
	}
	for _, b := range t.GetBolts() {
		add(b.GetComp())
	}
	return out
}

func packTopology(comps []comp, n int) *systempb.PackingPlan {
	pp := &systempb.PackingPlan{Id: proto.String(fmt.Sprintf("plan-%d", time.Now().UnixNano()))}
	res := func() *systempb.Resource {
		return &systempb.Resource{Cpu: proto.Float64(1), Ram: proto.Int64(256 << 20), Disk: proto.Int64(1 << 30)}
	}
	for i := 1; i <= n; i++ {
		pp.ContainerPlans = append(pp.ContainerPlans, &systempb.ContainerPlan{Id: proto.Int32(int32(i)), RequiredResource: res()})
	}
	task, k := int32(1), 0
	for _, c := range comps {
		for idx := 0; idx < c.par; idx++ {
			cp := pp.ContainerPlans[k%n]
			cp.InstancePlans = append(cp.InstancePlans, &systempb.InstancePlan{ComponentName: proto.String(c.name),
				TaskId: proto.Int32(task), ComponentIndex: proto.Int32(int32(idx)), Resource: res()})
			task++
			k++
		}
	}
	return pp
}

type ports struct{ server, controller, stats, shell, metrics int }

type cluster struct {
	t      testing.TB
	topo   *apipb.Topology
	pack   *systempb.PackingPlan
	n      int
	root   string
	base   string
	outDir string
	store  statemgr.Store
	ports  map[int]ports
	procs  map[int]*testserver.Process
	env    []string
	// internals and srcDir are what newClusterOf got, for containers
	// prepared later.
	internals, srcDir string
}

const sinksYAML = `sinks: [tmanager-sink]
tmanager-sink:
  class: "org.apache.heron.metricsmgr.sink.tmanager.TManagerSink"
  tmanager-metrics-type:
    "__emit-count": SUM
    "__execute-count": SUM
    "__fail-count": SUM
    "__ack-count": SUM
    "__complete-latency": AVG
    "__execute-latency": AVG
    "__process-latency": AVG
    "__jvm-process-cpu-load": LAST
    "__jvm-memory-used-mb": LAST
    "__time_spent_back_pressure_by_compid": SUM
    "__instance-restart-count": LAST
    "sunk": SUM
`

// sinksFile is the metrics_sinks.yaml of new clusters.
var sinksFile = sinksYAML

// newCluster writes the topology's state and starts shard 0 and n
// containers, each in its own working directory.
func newCluster(t testing.TB, comps []comp, conf map[string]string, n int, internals string, env ...string) *cluster {
	t.Helper()
	topo := buildTopology("T"+strings.ReplaceAll(t.Name(), "/", "_"), comps, conf)
	return newClusterOf(t, topo, roundRobin(comps, n), n, internals, "", env...)
}

// newClusterOf runs a compiled topology; each container's working directory
// starts as a copy of srcDir (the package contents) when it is set.
func newClusterOf(t testing.TB, topo *apipb.Topology, pack *systempb.PackingPlan, n int, internals, srcDir string, env ...string) *cluster {
	t.Helper()
	base := t.TempDir()
	if keep := os.Getenv("HERON_TEST_KEEP"); keep != "" {
		// Debugging: leave the containers' files behind.
		base = filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
		_ = os.RemoveAll(base)
	}
	c := &cluster{t: t, n: n, base: base, root: filepath.Join(base, "state"), outDir: filepath.Join(base, "out"),
		ports: map[int]ports{}, procs: map[int]*testserver.Process{}}
	c.topo, c.pack = topo, pack
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c.env = append(append(os.Environ(), "TEST_BIN="+self, "OUT_DIR="+c.outDir, "HOST=127.0.0.1", "HERON_LOG_FORMAT=json"), env...)
	ctx := context.Background()
	c.store, err = statemgr.Open(ctx, "file://"+c.root, statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.store.Close() })
	nc := nodes.Client{Store: c.store}
	if err := nc.Set(ctx, statemgr.Topologies, c.name(), c.topo); err != nil {
		t.Fatal(err)
	}
	if err := nc.Set(ctx, statemgr.PackingPlans, c.name(), c.pack); err != nil {
		t.Fatal(err)
	}
	c.internals, c.srcDir = internals, srcDir
	for shard := 0; shard <= n; shard++ {
		c.prepare(shard)
	}
	for shard := 0; shard <= n; shard++ {
		c.start(shard)
	}
	return c
}

// prepare writes a container's working directory and picks its ports.
func (c *cluster) prepare(shard int) {
	defn, _ := proto.Marshal(c.topo)
	d := c.dir(shard)
	if c.srcDir != "" {
		must(c.t, os.CopyFS(d, os.DirFS(c.srcDir)))
	}
	if err := os.MkdirAll(filepath.Join(d, "heron-conf"), 0o755); err != nil {
		c.t.Fatal(err)
	}
	must(c.t, os.WriteFile(filepath.Join(d, c.name()+".defn"), defn, 0o644))
	must(c.t, os.WriteFile(filepath.Join(d, "heron-conf", "heron_internals.yaml"), []byte("heron.logging.directory: log-files\n"+
		"heron.metrics.export.interval.sec: 1\nheron.executor.instance.restart.backoff.min.ms: 100\n"+
		"heron.executor.instance.restart.backoff.max.ms: 1000\n"+c.internals), 0o644))
	must(c.t, os.WriteFile(filepath.Join(d, "heron-conf", "metrics_sinks.yaml"), []byte(sinksFile), 0o644))
	must(c.t, os.WriteFile(filepath.Join(d, "heron-conf", "statemgr.yaml"), []byte("heron.class.state.manager: localfs\nheron.statemgr.root.path: "+c.root+"\n"), 0o644))
	c.ports[shard] = pickPorts(c.t)
}

// pickPorts chooses a container's ports: 0 for those the executor binds,
// which it then reports in the state (tmanager reads them there), so no
// other process can take them between a choice here and the bind.
var pickPorts = func(t testing.TB) ports { return ports{metrics: testserver.FreePort(t)} }

// tmanager is the topology manager's location, with its real ports.
func (c *cluster) tmanager() *tmanagerpb.TManagerLocation {
	c.t.Helper()
	var loc *tmanagerpb.TManagerLocation
	err := testserver.Poll(context.Background(), 30*time.Second, func() error {
		var err error
		loc, err = nodes.Client{Store: c.store}.TManagerLocation(context.Background(), c.name())
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return loc
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) name() string { return c.topo.GetName() }

func (c *cluster) dir(shard int) string {
	return filepath.Join(c.base, fmt.Sprintf("container-%d", shard))
}

// argv is the executor command line, in the order Heron's scheduler builds it.
func (c *cluster) argv(shard int) []string {
	p := c.ports[shard]
	return []string{
		"--topology-name=" + c.name(), "--topology-id=" + c.topo.GetId(), "--topology-defn-file=" + c.name() + ".defn",
		"--state-manager-connection=LOCALMODE", "--state-manager-root=" + c.root,
		"--state-manager-config-file=./heron-conf/statemgr.yaml", "--tmanager-binary=./heron-core/bin/heron-tmanager",
		"--stmgr-binary=./heron-core/bin/heron-stmgr", "--metrics-manager-classpath=./heron-core/lib/metricsmgr/*",
		`--instance-jvm-opts=""`, "--classpath=", "--heron-internals-config-file=./heron-conf/heron_internals.yaml",
		"--override-config-file=./heron-conf/override.yaml", "--component-ram-map=", `--component-jvm-opts=""`,
		"--pkg-type=tar", "--topology-binary-file=topology.tar.gz", "--heron-java-home=", "--heron-shell-binary=./heron-core/bin/heron-shell",
		"--cluster=local", "--role=tester", "--environment=default", "--instance-classpath=",
		"--metrics-sinks-config-file=./heron-conf/metrics_sinks.yaml", "--scheduler-classpath=", "--python-instance-binary=",
		"--cpp-instance-binary=", "--metricscache-manager-classpath=", "--metricscache-manager-mode=disabled", "--is-stateful=false",
		"--checkpoint-manager-classpath=", "--stateful-config-file=./heron-conf/stateful.yaml", "--checkpoint-manager-ram=1073741824",
		"--health-manager-mode=disabled", "--health-manager-classpath=",
		"--shard=" + strconv.Itoa(shard), "--server-port=" + strconv.Itoa(p.server), "--tmanager-controller-port=" + strconv.Itoa(p.controller),
		"--tmanager-stats-port=" + strconv.Itoa(p.stats), "--shell-port=" + strconv.Itoa(p.shell),
		"--metrics-manager-port=" + strconv.Itoa(p.metrics), "--scheduler-port=0", "--metricscache-manager-server-port=0",
		"--metricscache-manager-stats-port=0", "--checkpoint-manager-port=0",
	}
}

func (c *cluster) cmd(shard int) *exec.Cmd {
	self, _ := os.Executable()
	cmd := exec.Command(self, c.argv(shard)...)
	cmd.Dir = c.dir(shard)
	cmd.Env = append(append([]string(nil), c.env...), "HERON_TEST_ROLE=executor")
	return cmd
}

func (c *cluster) start(shard int) {
	if p := c.procs[shard]; p != nil {
		if err := p.Restart(c.cmd(shard)); err != nil {
			c.t.Fatal(err)
		}
		return
	}
	c.procs[shard] = testserver.StartProcess(c.t, fmt.Sprintf("executor-%d", shard), c.cmd(shard))
}

// waitRunning waits for a physical plan listing every container.
func (c *cluster) waitRunning() *systempb.PhysicalPlan {
	c.t.Helper()
	var pp *systempb.PhysicalPlan
	nc := nodes.Client{Store: c.store}
	err := testserver.Poll(context.Background(), 30*time.Second, func() error {
		var err error
		pp, err = nc.PhysicalPlan(context.Background(), c.name())
		if err != nil {
			return err
		}
		if len(pp.GetStmgrs()) != c.n {
			return fmt.Errorf("%d of %d stream managers in the physical plan", len(pp.GetStmgrs()), c.n)
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return pp
}

func (c *cluster) controller(path string) (int, string) {
	c.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	u := fmt.Sprintf("http://127.0.0.1:%d%s%stopologyid=%s", c.tmanager().GetControllerPort(), path, sep, c.topo.GetId())
	resp, err := http.Get(u)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// lines reads the files matching a glob under the output directory.
func (c *cluster) lines(glob string) map[string][]string {
	out := map[string][]string{}
	files, _ := filepath.Glob(filepath.Join(c.outDir, glob))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := strings.TrimSuffix(string(b), "\n")
		if s == "" {
			out[filepath.Base(f)] = nil
			continue
		}
		out[filepath.Base(f)] = strings.Split(s, "\n")
	}
	return out
}

func (c *cluster) count(glob string) int {
	n := 0
	for _, l := range c.lines(glob) {
		n += len(l)
	}
	return n
}

func (c *cluster) waitCount(glob string, want int, timeout time.Duration) {
	c.t.Helper()
	err := testserver.Poll(context.Background(), timeout, func() error {
		if got := c.count(glob); got < want {
			return fmt.Errorf("%s holds %d lines, want %d", glob, got, want)
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// sinkCmd appends its input to $OUT_DIR/<prefix>.<task>.
func sinkCmd(prefix string) string { return `exec cat >> "$OUT_DIR/` + prefix + `.$HERON_TASK_ID"` }
