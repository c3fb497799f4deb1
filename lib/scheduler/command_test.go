package scheduler

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/executor"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
)

func testTopology() *apipb.Topology {
	kv := func(k, v string) *apipb.Config_KeyValue {
		return &apipb.Config_KeyValue{Key: proto.String(k), Value: proto.String(v), Type: apipb.ConfigValueType_STRING_VALUE.Enum()}
	}
	comp := func(n string) *apipb.Component {
		return &apipb.Component{Name: proto.String(n), Config: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv("topology.component.parallelism", "1")}}}
	}
	return &apipb.Topology{Id: proto.String("WordCount-id"), Name: proto.String("WordCount"), State: apipb.TopologyState_RUNNING.Enum(),
		Spouts: []*apipb.Spout{{Comp: comp("word")}}, Bolts: []*apipb.Bolt{{Comp: comp("exclaim1")}},
		TopologyConfig: &apipb.Config{Kvs: []*apipb.Config_KeyValue{kv("topology.worker.childopts", "-XX:+HeapDumpOnOutOfMemoryError")}}}
}

func clusterConfig(t *testing.T) *config.Config {
	dir := filepath.Join(t.TempDir(), "local")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "statemgr.yaml"), []byte("heron.statemgr.connection.string: LOCALMODE\nheron.statemgr.root.path: /state/${CLUSTER}\n"), 0o644)
	cfg, err := config.Load(config.LoadOptions{Dir: dir, Cluster: "local", Role: "streamer", Environ: "default", Topology: "WordCount", Mode: config.ClusterMode, Home: "/home/streamer"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.With(map[string]any{KeyBinaryFile: "word-count.jar", KeyDefnFile: "/tmp/x/WordCount.defn"})
}

// Heron's SchedulerUtils order and values, in cluster mode.
func TestExecutorCommandMatchesHeron(t *testing.T) {
	top := testTopology()
	plan, err := (&packing.RoundRobin{Options: packing.DefaultOptions()}).Pack(top)
	if err != nil {
		t.Fatal(err)
	}
	ports := Ports{}
	for i, p := range RequiredPorts {
		ports[p] = string(rune('1'+i)) + "000"
	}
	got, err := ExecutorCommand(clusterConfig(t), top, plan, 0, ports)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"./heron-core/bin/heron-executor",
		"--topology-name=WordCount",
		"--topology-id=WordCount-id",
		"--topology-defn-file=WordCount.defn",
		"--state-manager-connection=LOCALMODE",
		"--state-manager-root=/state/local",
		"--state-manager-config-file=./heron-conf/statemgr.yaml",
		"--tmanager-binary=./heron-core/bin/heron-tmanager",
		"--stmgr-binary=./heron-core/bin/heron-stmgr",
		"--metrics-manager-classpath=./heron-core/lib/metricsmgr/*",
		`--instance-jvm-opts="LVhYOitIZWFwRHVtcE9uT3V0T2ZNZW1vcnlFcnJvcg(61)(61)"`,
		"--classpath=word-count.jar",
		"--heron-internals-config-file=./heron-conf/heron_internals.yaml",
		"--override-config-file=./heron-conf/override.yaml",
		"--component-ram-map=exclaim1:1073741824,word:1073741824",
		`--component-jvm-opts=""`,
		"--pkg-type=jar",
		"--topology-binary-file=word-count.jar",
		"--heron-java-home=/usr/lib/jvm/default-java",
		"--heron-shell-binary=./heron-core/bin/heron-shell",
		"--cluster=local",
		"--role=streamer",
		"--environment=default",
		"--instance-classpath=./heron-core/lib/instance/*",
		"--metrics-sinks-config-file=./heron-conf/metrics_sinks.yaml",
		"--scheduler-classpath=./heron-core/lib/scheduler/*:./heron-core/lib/packing/*:./heron-core/lib/statemgr/*",
		"--python-instance-binary=./heron-core/bin/heron-python-instance",
		"--cpp-instance-binary=./heron-core/bin/heron-cpp-instance",
		"--metricscache-manager-classpath=./heron-core/lib/metricscachemgr/*",
		"--metricscache-manager-mode=disabled",
		"--is-stateful=false",
		"--checkpoint-manager-classpath=./heron-core/lib/ckptmgr/*:./heron-core/lib/statefulstorage/*:",
		"--stateful-config-file=./heron-conf/stateful.yaml",
		"--checkpoint-manager-ram=1073741824",
		"--health-manager-mode=disabled",
		"--health-manager-classpath=./heron-core/lib/healthmgr/*",
		"--shard=0",
		"--server-port=1000",
		"--tmanager-controller-port=2000",
		"--tmanager-stats-port=3000",
		"--shell-port=4000",
		"--metrics-manager-port=5000",
		"--scheduler-port=6000",
		"--metricscache-manager-server-port=7000",
		"--metricscache-manager-stats-port=8000",
		"--checkpoint-manager-port=9000",
	}
	if !slices.Equal(got, want) {
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("arg %d: got %q want %q", i, g, w)
			}
		}
	}
	// The executor side parses exactly this command line.
	a, err := executor.ParseArgs(got[1:])
	if err != nil {
		t.Fatalf("heron-executor rejects the scheduler's argv: %v", err)
	}
	if a.Shard != 0 || a.TopologyID != "WordCount-id" || a.ServerPort != 1000 || a.StateManagerURI() != "file:///state/local" {
		t.Errorf("executor parsed %+v", a)
	}
	if _, err := ExecutorCommand(clusterConfig(t), top, plan, 1, Ports{PortServer: "1"}); err == nil {
		t.Error("missing ports accepted")
	}
}

func TestHelpers(t *testing.T) {
	for bin, want := range map[string]string{"a.jar": "jar", "a.tar": "tar", "a.tar.gz": "tar", "a.pex": "pex", "liba.so": "so", "a.dylib": "dylib", "wc.yaml": "yaml"} {
		if got := PackageType(bin); got != want {
			t.Errorf("PackageType(%s) = %s", bin, got)
		}
	}
	top := testTopology()
	if got := ClassPath(top, "word-count.tar.gz"); got != "libs/*:word-count.jar" {
		t.Error(got)
	}
	if got := EncodeJVMOpts(""); got != `""` {
		t.Error(got)
	}
	if d, _ := executor.DecodeJVMOpts(EncodeJVMOpts("-Xmx1g -Da=b")); d != "-Xmx1g -Da=b" {
		t.Error(d)
	}
}
