package executor

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/systempb"
)

// The vectors of this file are those of Heron's executor unit test: the
// same flag values (ports included, which Heron passes through as text),
// the same packing plan, a JVM that answers 11.0.6, and the same expected
// names and command lines, joined by spaces as Heron compares them.

const (
	vInternals = "conf/test/test_heron_internals.yaml"
	vOverride  = "conf/test/test_override.yaml"
	vHost      = "vectorhost"
	vGC        = "-XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:+UseStringDeduplication -XX:MaxGCPauseMillis=100 " +
		"-XX:InitiatingHeapOccupancyPercent=30 -XX:ParallelGCThreads=4"
	vJVMHead = "heron_java_home/bin/java -Xmx1024M -XX:+PrintCommandLineFlags -Djava.net.preferIPv4Stack=true " + vGC
)

// vectorFlags are the executor flags of Heron's unit test, with numbers in
// place of its textual ports (our flags are numbers); vectorConfig puts
// the texts back.
func vectorFlags(shard int, extra ...string) []string {
	return append([]string{
		fmt.Sprintf("--shard=%d", shard), "--topology-name=topname", "--topology-id=topid",
		"--topology-defn-file=topdefnfile", "--state-manager-connection=zknode", "--state-manager-root=zkroot",
		"--state-manager-config-file=state_manager_config_file", "--tmanager-binary=tmanager_binary",
		"--stmgr-binary=stmgr_binary", "--metrics-manager-classpath=metricsmgr_classpath",
		"--instance-jvm-opts=LVhYOitIZWFwRHVtcE9uT3V0T2ZNZW1vcnlFcnJvcg(61)(61)", "--classpath=classpath",
		"--server-port=1", "--tmanager-controller-port=2", "--tmanager-stats-port=3",
		"--heron-internals-config-file=" + vInternals, "--override-config-file=" + vOverride,
		"--component-ram-map=exclaim1:536870912,word:536870912", "--component-jvm-opts=", "--pkg-type=jar",
		"--topology-binary-file=topology_bin_file", "--heron-java-home=heron_java_home", "--shell-port=4",
		"--heron-shell-binary=heron_shell_binary", "--metrics-manager-port=5", "--cluster=cluster", "--role=role",
		"--environment=environ", "--instance-classpath=instance_classpath",
		"--metrics-sinks-config-file=metrics_sinks_config_file", "--scheduler-classpath=scheduler_classpath",
		"--scheduler-port=scheduler_port", "--python-instance-binary=python_instance_binary",
		"--cpp-instance-binary=cpp_instance_binary", "--metricscache-manager-classpath=metricscachemgr_classpath",
		"--metricscache-manager-server-port=metricscachemgr_serverport",
		"--metricscache-manager-stats-port=metricscachemgr_statsport", "--is-stateful=is_stateful_enabled",
		"--checkpoint-manager-classpath=ckptmgr_classpath", "--checkpoint-manager-port=ckptmgr-port",
		"--checkpoint-manager-ram=1073741824", "--stateful-config-file=stateful_config_file",
		"--health-manager-mode=cluster", "--health-manager-classpath=healthmgr_classpath",
		"--metricscache-manager-mode=cluster",
	}, extra...)
}

func vectorConfig(t *testing.T, shard int, extra ...string) CoreConfig {
	t.Helper()
	a, err := ParseArgs(vectorFlags(shard, extra...))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := CoreConfigOf(a, "/sandbox", "log-files", vHost)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServerPort, cfg.TmanagerControllerPort, cfg.TmanagerStatsPort = "server_port", "tmanager_controller_port", "tmanager_stats_port"
	cfg.ShellPort, cfg.MetricsManagerPort = "shell-port", "metricsmgr_port"
	cfg.JVMVersion = func() (string, error) { return "11.0.6\n", nil }
	return cfg
}

type vInstance struct {
	component   string
	task, index int32
}

// vectorPlan builds a packing plan from container id → instances.
func vectorPlan(containers ...any) *systempb.PackingPlan {
	pp := &systempb.PackingPlan{Id: proto.String("plan")}
	res := func() *systempb.Resource {
		return &systempb.Resource{Cpu: proto.Float64(1), Ram: proto.Int64(512 << 20), Disk: proto.Int64(1 << 30)}
	}
	for i := 0; i < len(containers); i += 2 {
		cp := &systempb.ContainerPlan{Id: proto.Int32(int32(containers[i].(int))), RequiredResource: res()}
		for _, in := range containers[i+1].([]vInstance) {
			cp.InstancePlans = append(cp.InstancePlans, &systempb.InstancePlan{ComponentName: proto.String(in.component),
				TaskId: proto.Int32(in.task), ComponentIndex: proto.Int32(in.index), Resource: res()})
		}
		pp.ContainerPlans = append(pp.ContainerPlans, cp)
	}
	return pp
}

// unitTestPlan is the plan of Heron's unit test.
func unitTestPlan() *systempb.PackingPlan {
	return vectorPlan(1, []vInstance{{"word", 3, 0}, {"exclaim1", 2, 0}, {"exclaim1", 1, 0}},
		7, []vInstance{{"word", 11, 0}, {"exclaim1", 210, 0}})
}

func wantShell(shard int) string {
	return fmt.Sprintf("heron_shell_binary --port=shell-port --log_file_prefix=log-files/heron-shell-%d.log --secret=topid", shard)
}

func wantMetricsMgr(shard int) string {
	return vJVMHead + " -cp metricsmgr_classpath org.apache.heron.metricsmgr.MetricsManager" +
		fmt.Sprintf(" --id=metricsmgr-%d --port=metricsmgr_port", shard) +
		" --topology=topname --cluster=cluster --role=role --environment=environ --topology-id=topid" +
		" --system-config-file=" + vInternals + " --override-config-file=" + vOverride +
		" --sink-config-file=metrics_sinks_config_file"
}

func wantStmgr(shard int, iids ...string) string {
	return "stmgr_binary --topology_name=topname --topology_id=topid --topologydefn_file=topdefnfile" +
		" --zkhostportlist=zknode --zkroot=zkroot" + fmt.Sprintf(" --stmgr_id=stmgr-%d", shard) +
		" --instance_ids=" + strings.Join(iids, ",") + " --myhost=" + vHost + " --data_port=server_port" +
		" --local_data_port=tmanager_controller_port --metricsmgr_port=metricsmgr_port --shell_port=shell-port" +
		" --config_file=" + vInternals + " --override_config_file=" + vOverride +
		fmt.Sprintf(" --ckptmgr_port=ckptmgr-port --ckptmgr_id=ckptmgr-%d --metricscachemgr_mode=cluster", shard)
}

func wantJavaInstance(component string, task, shard int) string {
	id := fmt.Sprintf("container_%d_%s_%d", shard, component, task)
	return "heron_java_home/bin/java -Xmx320M -Xms320M -XX:MaxMetaspaceSize=128M -XX:MetaspaceSize=128M" +
		" -XX:ReservedCodeCacheSize=64M -XX:+PrintCommandLineFlags -Djava.net.preferIPv4Stack=true " + vGC +
		" -cp instance_classpath:classpath -XX:+HeapDumpOnOutOfMemoryError org.apache.heron.instance.HeronInstance" +
		" -topology_name topname -topology_id topid -instance_id " + id + " -component_name " + component +
		fmt.Sprintf(" -task_id %d -component_index 0 -stmgr_id stmgr-%d", task, shard) +
		" -stmgr_port tmanager_controller_port -metricsmgr_port metricsmgr_port" +
		" -system_config_file " + vInternals + " -override_config_file " + vOverride
}

// named is a process name and its command line.
type named struct{ name, cmd string }

func asNamed(cs []CoreCommand) []named {
	out := []named{}
	for _, c := range cs {
		out = append(out, named{c.Name, c.String()})
	}
	return out
}

func diffNamed(t *testing.T, got, want []named) {
	t.Helper()
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w named
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("process %d:\n got  %s: %s\n want %s: %s", i, g.name, g.cmd, w.name, w.cmd)
		}
	}
}

// The launch of shards 0, 1 and 7 of Heron's unit test: names, start order
// (Heron's pids count up in this order) and command lines.
func TestCoreCommandsHeronVectors(t *testing.T) {
	tests := []struct {
		shard int
		want  []named
	}{
		{0, []named{
			{"heron-tmanager", "tmanager_binary --topology_name=topname --topology_id=topid --zkhostportlist=zknode" +
				" --zkroot=zkroot --myhost=" + vHost + " --server_port=server_port --controller_port=tmanager_controller_port" +
				" --stats_port=tmanager_stats_port --config_file=" + vInternals + " --override_config_file=" + vOverride +
				" --metrics_sinks_yaml=metrics_sinks_config_file --metricsmgr_port=metricsmgr_port --ckptmgr_port=ckptmgr-port"},
			{"heron-metricscache", vJVMHead + " -cp metricscachemgr_classpath org.apache.heron.metricscachemgr.MetricsCacheManager" +
				" --metricscache_id metricscache-0 --server_port metricscachemgr_serverport --stats_port metricscachemgr_statsport" +
				" --topology_name topname --topology_id topid --system_config_file " + vInternals +
				" --override_config_file " + vOverride + " --sink_config_file metrics_sinks_config_file" +
				" --cluster cluster --role role --environment environ"},
			{"heron-healthmgr", vJVMHead + " -cp scheduler_classpath:healthmgr_classpath org.apache.heron.healthmgr.HealthManager" +
				" --cluster cluster --role role --environment environ --topology_name topname --metricsmgr_port metricsmgr_port"},
			{"metricsmgr-0", wantMetricsMgr(0)},
			{"heron-shell-0", wantShell(0)},
		}},
		{1, []named{
			{"stmgr-1", wantStmgr(1, "container_1_word_3", "container_1_exclaim1_2", "container_1_exclaim1_1")},
			{"metricsmgr-1", wantMetricsMgr(1)},
			{"container_1_word_3", wantJavaInstance("word", 3, 1)},
			{"container_1_exclaim1_2", wantJavaInstance("exclaim1", 2, 1)},
			{"container_1_exclaim1_1", wantJavaInstance("exclaim1", 1, 1)},
			{"heron-shell-1", wantShell(1)},
		}},
		{7, []named{
			{"stmgr-7", wantStmgr(7, "container_7_word_11", "container_7_exclaim1_210")},
			{"metricsmgr-7", wantMetricsMgr(7)},
			{"container_7_word_11", wantJavaInstance("word", 11, 7)},
			{"container_7_exclaim1_210", wantJavaInstance("exclaim1", 210, 7)},
			{"heron-shell-7", wantShell(7)},
		}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("shard", tc.shard), func(t *testing.T) {
			got, err := CoreCommands(vectorConfig(t, tc.shard), unitTestPlan())
			if err != nil {
				t.Fatal(err)
			}
			diffNamed(t, asNamed(got), tc.want)
			for _, c := range got {
				if len(c.Env) != 0 {
					t.Errorf("%s: env %v without ENABLE_HEAPCHECK", c.Name, c.Env)
				}
			}
		})
	}
}

// Heron's test_update_packing_plan.
func TestCoreIDsHeronVector(t *testing.T) {
	ids := CoreIDsOf(unitTestPlan())
	if want := map[int32]string{1: "stmgr-1", 7: "stmgr-7"}; !reflect.DeepEqual(ids.Stmgr, want) {
		t.Errorf("stmgr ids %v, want %v", ids.Stmgr, want)
	}
	if want := map[int32]string{0: "metricsmgr-0", 1: "metricsmgr-1", 7: "metricsmgr-7"}; !reflect.DeepEqual(ids.MetricsMgr, want) {
		t.Errorf("metricsmgr ids %v, want %v", ids.MetricsMgr, want)
	}
	if want := map[int32]string{0: "heron-shell-0", 1: "heron-shell-1", 7: "heron-shell-7"}; !reflect.DeepEqual(ids.Shell, want) {
		t.Errorf("shell ids %v, want %v", ids.Shell, want)
	}
	if want := map[int32]string{0: "ckptmgr-0", 1: "ckptmgr-1", 7: "ckptmgr-7"}; !reflect.DeepEqual(ids.CkptMgr, want) {
		t.Errorf("ckptmgr ids %v, want %v", ids.CkptMgr, want)
	}
}

// Heron's test_change_instance_dist_container_1: the commands of shard 1
// as a name → argv map, then what a new distribution kills, keeps and
// starts.
func TestCoreCommandChangesHeronVector(t *testing.T) {
	cfg := vectorConfig(t, 1)
	before, err := CoreCommands(cfg, unitTestPlan())
	if err != nil {
		t.Fatal(err)
	}
	gotMap := map[string][]string{}
	for _, c := range before {
		gotMap[c.Name] = c.Argv
	}
	wantMap := map[string][]string{
		"stmgr-1":                strings.Split(wantStmgr(1, "container_1_word_3", "container_1_exclaim1_2", "container_1_exclaim1_1"), " "),
		"metricsmgr-1":           strings.Split(wantMetricsMgr(1), " "),
		"container_1_word_3":     strings.Split(wantJavaInstance("word", 3, 1), " "),
		"container_1_exclaim1_2": strings.Split(wantJavaInstance("exclaim1", 2, 1), " "),
		"container_1_exclaim1_1": strings.Split(wantJavaInstance("exclaim1", 1, 1), " "),
		"heron-shell-1":          strings.Split(wantShell(1), " "),
	}
	gj, _ := json.Marshal(gotMap)
	wj, _ := json.Marshal(wantMap)
	if string(gj) != string(wj) {
		t.Fatalf("commands of shard 1:\n got  %s\n want %s", gj, wj)
	}

	after, err := CoreCommands(cfg, vectorPlan(1, []vInstance{{"word", 3, 0}, {"word", 2, 0}, {"exclaim1", 1, 0}}))
	if err != nil {
		t.Fatal(err)
	}
	kill, keep, start := CoreCommandChanges(before, after)
	names := func(cs []CoreCommand) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"kill", names(kill), []string{"container_1_exclaim1_2", "stmgr-1"}},
		{"keep", names(keep), []string{"container_1_exclaim1_1", "container_1_word_3", "heron-shell-1", "metricsmgr-1"}},
		{"start", names(start), []string{"container_1_word_2", "stmgr-1"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, tc.got, tc.want)
		}
	}
	// Start order is the wanted order: the stream manager first.
	if start[0].Name != "stmgr-1" {
		t.Errorf("start order %v: the stream manager starts first", names(start))
	}
	// An unchanged plan keeps everything but the stream manager.
	kill, keep, start = CoreCommandChanges(before, before)
	if !slices.Equal(names(kill), []string{"stmgr-1"}) || len(keep) != 5 || !slices.Equal(names(start), []string{"stmgr-1"}) {
		t.Errorf("same plan: kill %v keep %v start %v", names(kill), names(keep), names(start))
	}
}

// Beyond Heron's test: the other process kinds and switches, each against
// the command line the reference gives.
func TestCoreCommandsVariants(t *testing.T) {
	plan1 := vectorPlan(1, []vInstance{{"word", 3, 0}, {"exclaim1", 2, 1}})
	find := func(t *testing.T, cs []CoreCommand, name string) CoreCommand {
		t.Helper()
		for _, c := range cs {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no process %s in %v", name, asNamed(cs))
		return CoreCommand{}
	}
	build := func(t *testing.T, cfg CoreConfig, pp *systempb.PackingPlan) []CoreCommand {
		t.Helper()
		cs, err := CoreCommands(cfg, pp)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	ckpt := func(shard int) string {
		return fmt.Sprintf("heron_java_home/bin/java -Xms1024M -Xmx1024M -XX:+PrintCommandLineFlags -Djava.net.preferIPv4Stack=true "+vGC+
			" -cp ckptmgr_classpath org.apache.heron.ckptmgr.CheckpointManager -ttopname -itopid -cckptmgr-%d -pckptmgr-port"+
			" -fstateful_config_file -o"+vOverride+" -g"+vInternals, shard)
	}

	t.Run("stateful", func(t *testing.T) {
		cs := build(t, vectorConfig(t, 0, "--is-stateful=TRUE"), unitTestPlan())
		diffNamed(t, asNamed(cs)[3:5], []named{{"metricsmgr-0", wantMetricsMgr(0)}, {"ckptmgr-0", ckpt(0)}})
		cs = build(t, vectorConfig(t, 1, "--is-stateful=true"), plan1)
		diffNamed(t, asNamed(cs)[1:3], []named{{"metricsmgr-1", wantMetricsMgr(1)}, {"ckptmgr-1", ckpt(1)}})
	})

	t.Run("daemons disabled", func(t *testing.T) {
		cs := build(t, vectorConfig(t, 0, "--metricscache-manager-mode=DISABLED", "--health-manager-mode=disabled"), unitTestPlan())
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
		}
		if want := []string{"heron-tmanager", "metricsmgr-0", "heron-shell-0"}; !slices.Equal(names, want) {
			t.Errorf("shard 0 runs %v, want %v", names, want)
		}
		st := find(t, build(t, vectorConfig(t, 1, "--metricscache-manager-mode=DISABLED"), plan1), "stmgr-1")
		if last := st.Argv[len(st.Argv)-1]; last != "--metricscachemgr_mode=disabled" {
			t.Errorf("stmgr ends with %s", last)
		}
	})

	t.Run("verbose gc", func(t *testing.T) {
		cs := build(t, vectorConfig(t, 1, "--verbose-gc"), plan1)
		xlog := func(name string) string {
			return "-Xlog:gc*,safepoint=info:file=log-files/gc." + name + ".log:tags,time,uptime,level:filecount=5,filesize=100M"
		}
		for _, name := range []string{"metricsmgr-1", "container_1_word_3"} {
			c := find(t, cs, name)
			i := slices.Index(c.Argv, "-cp")
			if i < 7 || c.Argv[i-1] != xlog(name) || c.Argv[i-7] != "-XX:+UseG1GC" {
				t.Errorf("%s: GC group not right before -cp: %s", name, c)
			}
		}
		for _, name := range []string{"stmgr-1", "heron-shell-1"} {
			if c := find(t, cs, name); strings.Contains(c.String(), "-Xlog") || strings.Contains(c.String(), "G1GC") {
				t.Errorf("%s has no -cp and gets no GC options: %s", name, c)
			}
		}
	})

	t.Run("jvm versions", func(t *testing.T) {
		for _, tc := range []struct{ version, want string }{
			{"1.8.0_292", "-Xmx320M -Xms320M -Xmn160M -XX:MaxMetaspaceSize=128M -XX:MetaspaceSize=128M"},
			{"1.7.0_80", "-Xmx320M -Xms320M -Xmn160M -XX:MaxPermSize=128M -XX:PermSize=128M"},
			{"17.0.2", "-Xmx320M -Xms320M -XX:MaxMetaspaceSize=128M -XX:MetaspaceSize=128M"},
		} {
			cfg := vectorConfig(t, 1)
			cfg.JVMVersion = func() (string, error) { return tc.version, nil }
			c := find(t, build(t, cfg, plan1), "container_1_word_3")
			if !strings.HasPrefix(c.String(), "heron_java_home/bin/java "+tc.want+" -XX:ReservedCodeCacheSize=64M ") {
				t.Errorf("JVM %s: %s", tc.version, c)
			}
		}
		cfg := vectorConfig(t, 1)
		cfg.JVMVersion = func() (string, error) { return "openjdk", nil }
		if _, err := CoreCommands(cfg, plan1); err == nil {
			t.Error("a JVM version without a major number was accepted")
		}
	})

	t.Run("debugger ports", func(t *testing.T) {
		// Heron pops ports off the end of the list: the first instance gets
		// the last port; with more instances than ports the rest get none.
		cs := build(t, vectorConfig(t, 1, "--jvm-remote-debugger-ports=6010,6011"),
			vectorPlan(1, []vInstance{{"word", 3, 0}, {"exclaim1", 2, 0}, {"exclaim1", 1, 1}}))
		for name, port := range map[string]string{"container_1_word_3": "6011", "container_1_exclaim1_2": "6010", "container_1_exclaim1_1": ""} {
			c := find(t, cs, name)
			agent := "-agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=" + port
			if port == "" {
				if strings.Contains(c.String(), "jdwp") || strings.Contains(c.String(), "-remote_debugger_port") {
					t.Errorf("%s got a debugger port: %s", name, c)
				}
				continue
			}
			i := slices.Index(c.Argv, agent)
			if i < 0 || c.Argv[i-2] != "-cp" || c.Argv[i+1] != "-XX:+HeapDumpOnOutOfMemoryError" ||
				!slices.Equal(c.Argv[len(c.Argv)-2:], []string{"-remote_debugger_port", port}) {
				t.Errorf("%s: debugger port %s misplaced: %s", name, port, c)
			}
		}
	})

	t.Run("component jvm opts", func(t *testing.T) {
		b64 := base64.StdEncoding.EncodeToString
		js, _ := json.Marshal(map[string]string{b64([]byte("word")): b64([]byte("-Xss2m  -Dkey=v")), b64([]byte("exclaim1")): ""})
		enc := `"` + strings.ReplaceAll(b64(js), "=", "(61)") + `"`
		cs := build(t, vectorConfig(t, 1, "--component-jvm-opts="+enc), plan1)
		if c := find(t, cs, "container_1_word_3"); !strings.Contains(c.String(), " -XX:+HeapDumpOnOutOfMemoryError -Xss2m -Dkey=v org.apache.heron.instance.HeronInstance ") {
			t.Errorf("word: %s", c)
		}
		if c := find(t, cs, "container_1_exclaim1_2"); !strings.Contains(c.String(), " -XX:+HeapDumpOnOutOfMemoryError org.apache.heron.instance.HeronInstance ") {
			t.Errorf("exclaim1: %s", c)
		}
	})

	t.Run("python instance", func(t *testing.T) {
		c := find(t, build(t, vectorConfig(t, 1, "--pkg-type=pex"), plan1), "container_1_exclaim1_2")
		want := "python_instance_binary --topology_name=topname --topology_id=topid --instance_id=container_1_exclaim1_2" +
			" --component_name=exclaim1 --task_id=2 --component_index=1 --stmgr_id=stmgr-1" +
			" --stmgr_port=tmanager_controller_port --metricsmgr_port=metricsmgr_port --config_file=" + vInternals +
			" --override_config_file=" + vOverride + " --topology_pex=topology_bin_file --max_ram=536870912"
		if c.String() != want {
			t.Errorf("python instance:\n got  %s\n want %s", c, want)
		}
	})

	t.Run("cpp instance", func(t *testing.T) {
		for _, pkg := range []string{"so", "dylib"} {
			c := find(t, build(t, vectorConfig(t, 1, "--pkg-type="+pkg), plan1), "container_1_word_3")
			want := "cpp_instance_binary --topology_name=topname --topology_id=topid --instance_id=container_1_word_3" +
				" --component_name=word --task_id=3 --component_index=0 --stmgr_id=stmgr-1" +
				" --stmgr_port=tmanager_controller_port --metricsmgr_port=metricsmgr_port --config_file=" + vInternals +
				" --override_config_file=" + vOverride + " --topology_binary=/sandbox/topology_bin_file"
			if c.String() != want {
				t.Errorf("%s instance:\n got  %s\n want %s", pkg, c, want)
			}
		}
	})

	t.Run("container without a plan", func(t *testing.T) {
		cs := build(t, vectorConfig(t, 3), unitTestPlan())
		diffNamed(t, asNamed(cs), []named{{"heron-shell", wantShell(3)}})
	})

	t.Run("plan without containers", func(t *testing.T) {
		for _, shard := range []int{0, 1} {
			if cs := build(t, vectorConfig(t, shard), &systempb.PackingPlan{}); len(cs) != 0 {
				t.Errorf("shard %d runs %v for an empty plan", shard, asNamed(cs))
			}
		}
	})

	t.Run("heap check", func(t *testing.T) {
		cfg := vectorConfig(t, 1)
		cfg.HeapCheck = true
		cs := build(t, cfg, plan1)
		want := []string{"LD_PRELOAD=/usr/lib/libtcmalloc.so", "HEAPCHECK=normal"}
		for _, c := range cs {
			if got := c.Env; (c.Name == "stmgr-1") != slices.Equal(got, want) {
				t.Errorf("%s: env %v", c.Name, got)
			}
		}
		cfg = vectorConfig(t, 0)
		cfg.HeapCheck = true
		if c := find(t, build(t, cfg, plan1), "heron-tmanager"); !slices.Equal(c.Env, want) {
			t.Errorf("tmanager env %v", c.Env)
		}
	})

	t.Run("java home", func(t *testing.T) {
		for home, want := range map[string]string{"": "bin/java", "./jdk": "./jdk/bin/java", "/opt/jdk/": "/opt/jdk/bin/java"} {
			cfg := vectorConfig(t, 1)
			cfg.HeronJavaHome = home
			if got := cfg.MetricsManagerCommand("metricsmgr-1").Argv[0]; got != want {
				t.Errorf("java home %q: %s, want %s", home, got, want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		if _, err := CoreCommands(vectorConfig(t, 1, "--component-ram-map=word:536870912"), plan1); err == nil ||
			!strings.Contains(err.Error(), `no RAM for component "exclaim1"`) {
			t.Errorf("missing RAM: %v", err)
		}
		a, err := ParseArgs(vectorFlags(1, "--pkg-type=zip"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CoreConfigOf(a, "/sandbox", "log-files", vHost); err == nil || !strings.Contains(err.Error(), "--pkg-type") {
			t.Errorf("pkg type zip: %v", err)
		}
		a, _ = ParseArgs(vectorFlags(1, "--instance-jvm-opts=!!"))
		if _, err := CoreConfigOf(a, "/sandbox", "log-files", vHost); err == nil {
			t.Error("undecodable instance JVM options were accepted")
		}
	})
}

// Ports come from the executor flags: each lands where the reference's
// port table puts it.
func TestCoreCommandsPorts(t *testing.T) {
	ports := []string{"--server-port=6001", "--tmanager-controller-port=6002", "--tmanager-stats-port=6003",
		"--shell-port=6004", "--metrics-manager-port=6005", "--checkpoint-manager-port=6006",
		"--metricscache-manager-server-port=6007", "--metricscache-manager-stats-port=6008"}
	cfgOf := func(shard int) CoreConfig {
		a, err := ParseArgs(append(vectorFlags(shard), ports...))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := CoreConfigOf(a, "/sandbox", "log-files", vHost)
		if err != nil {
			t.Fatal(err)
		}
		cfg.JVMVersion = func() (string, error) { return "11", nil }
		return cfg
	}
	want := map[int]map[string][]string{
		0: {
			"heron-tmanager":     {"--server_port=6001", "--controller_port=6002", "--stats_port=6003", "--metricsmgr_port=6005", "--ckptmgr_port=6006"},
			"heron-metricscache": {"--server_port 6007", "--stats_port 6008"},
			"heron-healthmgr":    {"--metricsmgr_port 6005"},
			"metricsmgr-0":       {"--port=6005"},
			"heron-shell-0":      {"--port=6004"},
		},
		1: {
			"stmgr-1":            {"--data_port=6001", "--local_data_port=6002", "--metricsmgr_port=6005", "--shell_port=6004", "--ckptmgr_port=6006"},
			"metricsmgr-1":       {"--port=6005"},
			"container_1_word_3": {"-stmgr_port 6002", "-metricsmgr_port 6005"},
			"heron-shell-1":      {"--port=6004"},
		},
	}
	for shard, byName := range want {
		cs, err := CoreCommands(cfgOf(shard), unitTestPlan())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			for _, w := range byName[c.Name] {
				if !strings.Contains(c.String()+" ", " "+w+" ") {
					t.Errorf("shard %d %s lacks %q: %s", shard, c.Name, w, c)
				}
			}
			delete(byName, c.Name)
		}
		for name := range byName {
			t.Errorf("shard %d runs no %s", shard, name)
		}
	}
}
