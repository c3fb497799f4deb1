package nomad

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/executor"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/scheduler"
)

const (
	testCoreURI    = "http://files.test:9000/api/v1/file/download/core"
	testPackageURI = "http://files.test:9000/api/v1/file/download/0a1b-topology.tar.gz"
)

func buildSpec(t *testing.T, props ...string) (*Spec, error) {
	t.Helper()
	top, _ := testTopology(t)
	base := []string{KeyCoreURI + "=" + testCoreURI, KeyServiceProvider + "=nomad"}
	cfg := loadConfig(t, top, append(base, props...)...)
	cfg = cfg.With(map[string]any{scheduler.KeyPackageURI: testPackageURI})
	return SpecFor(context.Background(), cfg, top, pack(t, cfg, top), nil)
}

func mustBuild(t *testing.T, props ...string) (*Spec, *Job) {
	t.Helper()
	spec, err := buildSpec(t, props...)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := spec.Build()
	if err != nil {
		t.Fatal(err)
	}
	return spec, jb
}

func script(t *testing.T, g *TaskGroup) string {
	t.Helper()
	args, ok := g.Tasks[0].Config["args"].([]string)
	if !ok || len(args) != 2 || args[0] != "-c" {
		t.Fatalf("task args = %#v, want [-c script]", g.Tasks[0].Config["args"])
	}
	return args[1]
}

func TestBuildRawExecJob(t *testing.T) {
	spec, jb := mustBuild(t)
	if jb.ID != "heron-WordCount" || jb.Type != "service" || !slices.Equal(jb.Datacenters, []string{"*"}) {
		t.Errorf("job = %s %s %v", jb.ID, jb.Type, jb.Datacenters)
	}
	for k, want := range map[string]string{MetaTopologyName: "WordCount", MetaTopologyID: spec.Topology.GetId(),
		MetaCluster: "nomad", MetaRole: "streamer", MetaEnviron: "default", MetaPackageURI: testPackageURI,
		MetaBinaryFile: "wordcount.yaml", MetaDefnFile: "WordCount.defn"} {
		if jb.Meta[k] != want {
			t.Errorf("meta %s = %q, want %q", k, jb.Meta[k], want)
		}
	}
	// Container 0 (the topology manager) and the plan's containers 1 and 2.
	var names []string
	for _, g := range jb.TaskGroups {
		names = append(names, g.Name+"="+g.Meta[MetaContainerIndex])
	}
	if want := []string{"WordCount-0=0", "WordCount-1=1", "WordCount-2=2"}; !slices.Equal(names, want) {
		t.Fatalf("groups %v, want %v", names, want)
	}
	max := spec.Plan.MaxContainerResource()
	for i, g := range jb.TaskGroups {
		task := g.Tasks[0]
		if task.Driver != DriverRawExec || task.Config["command"] != "/bin/sh" || task.KillSignal != "SIGTERM" {
			t.Errorf("%s: task %+v", g.Name, task)
		}
		if task.Resources.CPU != int(max.CPU*2000+0.5) || task.Resources.MemoryMB != int(max.RAM>>20) || g.EphemeralDisk.SizeMB != int(max.Disk>>20) {
			t.Errorf("%s: resources %+v disk %d, want the largest container %+v at 2000 MHz/core", g.Name, task.Resources, g.EphemeralDisk.SizeMB, max)
		}
		var labels []string
		for _, p := range g.Networks[0].DynamicPorts {
			labels = append(labels, p.Label)
		}
		want := []string{"server", "tmanager_ctl", "tmanager_stats", "shell_port", "metrics_mgr", "scheduler",
			"metrics_cache_m", "metrics_cache_s", "ckptmgr", "metrics_port"}
		if !slices.Equal(labels, want) {
			t.Errorf("%s: ports %v, want %v", g.Name, labels, want)
		}
		if task.Env["HOST"] != "${attr.unique.network.ip-address}" || task.Env["METRICS_PORT_FILE"] != "port_file" {
			t.Errorf("%s: env %v", g.Name, task.Env)
		}
		// Both packages come as Nomad artifacts into local/; the API
		// server's core URL names no archive, so the archive type is given.
		if len(task.Artifacts) != 2 || task.Artifacts[0].GetterSource != testCoreURI ||
			task.Artifacts[0].GetterOptions["archive"] != "tar.gz" || task.Artifacts[0].RelativeDest != "local/" ||
			task.Artifacts[1].GetterSource != testPackageURI || task.Artifacts[1].GetterOptions != nil {
			t.Errorf("%s: artifacts %+v", g.Name, task.Artifacts)
		}
		sh := script(t, g)
		for _, want := range []string{
			"set -e\ncd \"$NOMAD_TASK_DIR\"\n",
			"echo \"$NOMAD_PORT_metrics_port\" > port_file\n",
			"exec ./heron-core/bin/heron-executor --topology-name=WordCount ",
			" '--server-port=${NOMAD_PORT_server}' ",
			" '--tmanager-controller-port=${NOMAD_PORT_tmanager_ctl}' ",
			" --shard=" + g.Meta[MetaContainerIndex] + " ",
			" --state-manager-connection=127.0.0.1:2181 --state-manager-root=/heron ",
		} {
			if !strings.Contains(sh, want) {
				t.Errorf("%s: script lacks %q:\n%s", g.Name, want, sh)
			}
		}
		if strings.Contains(sh, "tar -x") {
			t.Errorf("%s: http packages are artifacts, not tar steps:\n%s", g.Name, sh)
		}
		// Heron's service: name, port, tags, a TCP check.
		wantSvc := Service{Name: "metrics-heron-WordCount-" + g.Meta[MetaContainerIndex], Provider: "nomad", PortLabel: "metrics_port",
			Tags:   []string{"WordCount-" + g.Meta[MetaContainerIndex], "prometheus", "metrics", "heron"},
			Checks: []Check{{Name: "metrics port", Type: "tcp", PortLabel: "metrics_port", Interval: 10 * time.Second, Timeout: 2 * time.Second}}}
		if len(g.Services) != 1 || !svcEqual(g.Services[0], wantSvc) {
			t.Errorf("%s: services %+v, want %+v", g.Name, g.Services, wantSvc)
		}
		if i == 0 && g.Name != "WordCount-0" {
			t.Errorf("first group %s", g.Name)
		}
	}
	// The JSON uses Nomad's field names and nanosecond durations.
	b, err := json.Marshal(jb)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"TaskGroups":[`, `"DynamicPorts":[{"Label":"server"}`, `"GetterSource":"` + testCoreURI + `"`,
		`"Interval":10000000000`, `"KillTimeout":30000000000`, `"Provider":"nomad"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("job JSON lacks %s", want)
		}
	}
}

func svcEqual(a, b Service) bool {
	return a.Name == b.Name && a.Provider == b.Provider && a.PortLabel == b.PortLabel &&
		slices.Equal(a.Tags, b.Tags) && slices.Equal(a.Checks, b.Checks)
}

// The executor command in the job is one heron-executor accepts once Nomad
// has put the ports in.
func TestExecutorCommandParses(t *testing.T) {
	spec, jb := mustBuild(t)
	ex, err := spec.Executors()
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != len(jb.TaskGroups) {
		t.Fatalf("%d executors for %d groups", len(ex), len(jb.TaskGroups))
	}
	placeholder := regexp.MustCompile(`\$\{NOMAD_PORT_[a-z_]+\}`)
	for i, e := range ex {
		if e.Shard != i {
			t.Errorf("executor %d has shard %d", i, e.Shard)
		}
		argv := make([]string, len(e.Command)-1)
		for j, a := range e.Command[1:] {
			argv[j] = placeholder.ReplaceAllString(a, "31000")
		}
		a, err := executor.ParseArgs(argv)
		if err != nil {
			t.Fatalf("shard %d: %v\n%q", e.Shard, err, argv)
		}
		if a.Shard != e.Shard || a.ServerPort != 31000 || a.TopologyName != "WordCount" {
			t.Errorf("shard %d parsed as %+v", e.Shard, a)
		}
	}
}

func TestBuildDockerJob(t *testing.T) {
	_, jb := mustBuild(t, KeyDriver+"=docker", KeyDockerImage+"=debian:bookworm-slim")
	for _, g := range jb.TaskGroups {
		c := g.Tasks[0].Config
		if g.Tasks[0].Driver != "docker" || c["image"] != "debian:bookworm-slim" || c["network_mode"] != "default" {
			t.Errorf("%s: %+v", g.Name, g.Tasks[0])
		}
		ports, _ := c["ports"].([]string)
		if len(ports) != 10 || ports[0] != "server" || ports[9] != "metrics_port" {
			t.Errorf("%s: docker ports %v", g.Name, ports)
		}
	}
	_, jb = mustBuild(t, KeyDriver+"=docker", KeyNetworkMode+"=host")
	if _, ok := jb.TaskGroups[0].Tasks[0].Config["ports"]; ok {
		t.Error("host networking publishes no ports")
	}
}

func TestFileURIs(t *testing.T) {
	// raw_exec unpacks file:// packages with tar on the node.
	spec, err := buildSpec(t, KeyCoreURI+"=file:///opt/heron/dist/heron-core.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	spec.PackageURI = "file:///shared/pkgs/it's here/topology.tar.gz"
	jb, err := spec.Build()
	if err != nil {
		t.Fatal(err)
	}
	sh := script(t, jb.TaskGroups[1])
	for _, want := range []string{"tar -xzf /opt/heron/dist/heron-core.tar.gz\n", `tar -xzf '/shared/pkgs/it'\''s here/topology.tar.gz'` + "\n"} {
		if !strings.Contains(sh, want) {
			t.Errorf("script lacks %q:\n%s", want, sh)
		}
	}
	if n := len(jb.TaskGroups[1].Tasks[0].Artifacts); n != 0 {
		t.Errorf("%d artifacts for file:// URIs", n)
	}
	// A core directory on the nodes is linked.
	_, jb = mustBuild(t, KeyUseCoreURI+"=false", KeyCoreDirectory+"=/opt/heron-core")
	if sh := script(t, jb.TaskGroups[0]); !strings.Contains(sh, "ln -sfn /opt/heron-core heron-core\n") {
		t.Errorf("script does not link the core:\n%s", sh)
	}

	// A docker container cannot read the submitting machine's files.
	_, err = buildSpecBuild(t, KeyDriver+"=docker", KeyCoreURI+"=file:///opt/heron/dist/heron-core.tar.gz")
	if err == nil || !strings.Contains(err.Error(), "docker container cannot read") || exitcode.Code(err) != exitcode.Config {
		t.Errorf("docker with a file:// core: %v", err)
	}
	_, err = buildSpecBuild(t, KeyCoreURI+"=hdfs://nn/heron-core.tar.gz")
	if err == nil || !strings.Contains(err.Error(), "scheme Nomad cannot fetch") {
		t.Errorf("hdfs core: %v", err)
	}
}

func buildSpecBuild(t *testing.T, props ...string) (*Job, error) {
	spec, err := buildSpec(t, props...)
	if err != nil {
		return nil, err
	}
	return spec.Build()
}

func TestServiceRegistrationOptions(t *testing.T) {
	_, jb := mustBuild(t, KeyServiceRegister+"=false")
	if len(jb.TaskGroups[1].Services) != 0 {
		t.Error("services registered with register=false")
	}
	_, jb = mustBuild(t, KeyServiceProvider+"=consul", KeyServiceTags+"= a, b ,,")
	if s := jb.TaskGroups[2].Services[0]; s.Provider != "consul" || !slices.Equal(s.Tags, []string{"WordCount-2", "a", "b"}) {
		t.Errorf("service %+v", s)
	}
	// Registering needs a metrics port, i.e. a Prometheus sink with a
	// port-file.
	_, err := buildSpecBuild(t, "sinks=file-sink")
	if err == nil || !strings.Contains(err.Error(), "no Prometheus sink") {
		t.Errorf("register without a prometheus sink: %v", err)
	}
	_, jb = mustBuild(t, "sinks=file-sink", KeyServiceRegister+"=false")
	g := jb.TaskGroups[0]
	if n := len(g.Networks[0].DynamicPorts); n != 9 || strings.Contains(script(t, g), "port_file") {
		t.Errorf("no prometheus sink: %d ports, script:\n%s", n, script(t, g))
	}
}

func TestReadSettings(t *testing.T) {
	top, _ := testTopology(t)
	t.Setenv("NOMAD_TOKEN", "from-env")
	st, err := ReadSettings(loadConfig(t, top, KeyDatacenters+"=dc1, dc2", KeyNamespace+"=heron", KeySchedulerURI+"=https://nomad.test:4646/"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(st.Datacenters, []string{"dc1", "dc2"}) || st.Namespace != "heron" || st.Token != "from-env" ||
		st.URI != "https://nomad.test:4646" || st.Driver != DriverRawExec || st.CoreFreqMHz != 2000 {
		t.Errorf("settings %+v", st)
	}
	// The shipped cluster names Heron's Nomad classes.
	cfg := loadConfig(t, top)
	for _, key := range []string{config.KeyLauncherClass, config.KeySchedulerClass} {
		if n, err := cfg.ClassName(key); err != nil || n != Name {
			t.Errorf("%s = %q %v", key, n, err)
		}
	}
	if svc, err := cfg.Bool("heron.scheduler.is.service", true); err != nil || svc {
		t.Errorf("conf/nomad runs the scheduler as a service: %v %v", svc, err)
	}
	st, err = ReadSettings(loadConfig(t, top, KeyToken+"=from-config"))
	if err != nil || st.Token != "from-config" {
		t.Errorf("token %q %v", st.Token, err)
	}
	for prop, want := range map[string]string{
		KeyDriver + "=exec":              "use raw_exec or docker",
		KeySchedulerURI + "=127.0.0.1":   "want the Nomad HTTP API address",
		KeyServiceProvider + "=etcd":     "use consul, nomad or auto",
		KeyCoreFreqMapping + "=0":        "MHz of one core",
		KeyTLSCert + "=/tmp/c.pem":       "go together",
		KeyServiceInterval + "=often":    "integer",
		KeyTokenFile + "=/nonexistent/x": "no such file",
	} {
		_, err := ReadSettings(loadConfig(t, top, prop))
		if err == nil || !strings.Contains(err.Error(), want) || exitcode.Code(err) != exitcode.Config {
			t.Errorf("%s: %v, want %q", prop, err, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"--shard=1":                       "--shard=1",
		"":                                "''",
		"${NOMAD_PORT_server}":            "'${NOMAD_PORT_server}'",
		"it's":                            `'it'\''s'`,
		`"Zm9v"`:                          `'"Zm9v"'`,
		"a b":                             "'a b'",
		"./heron-core/bin/heron-executor": "./heron-core/bin/heron-executor",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// Config values reach the task untouched: Nomad's HCL2 interpolation of
// driver config would fail the task on an unknown ${...}.
func TestNomadInterpolationEscaped(t *testing.T) {
	_, jb := mustBuild(t, "heron.directory.sandbox.java.home=/opt/${NOTATOKEN}/%{x}")
	sh := script(t, jb.TaskGroups[0])
	if !strings.Contains(sh, "'--heron-java-home=/opt/$${NOTATOKEN}/%%{x}'") || !strings.Contains(sh, "'--server-port=${NOMAD_PORT_server}'") {
		t.Errorf("script:\n%s", sh)
	}
}

// Whatever a config value holds, the shell gets it back as one word, and
// Nomad's interpolation finds nothing to expand in it.
func FuzzShellQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "it's", "a b", "${JAVA_HOME}", "%{x}", "$${y}", `"q"`, "\\", "-n", "*", "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			t.Skip()
		}
		q := shellQuote(s)
		out, err := exec.Command("/bin/sh", "-c", "printf '%s' "+q).Output()
		if err != nil || string(out) != s {
			t.Fatalf("sh got %q from %s (%v), want %q", out, q, err, s)
		}
		e := nomadEscape(s)
		if strings.Count(e, "${") != strings.Count(e, "$${") || strings.Count(e, "%{") != strings.Count(e, "%%{") {
			t.Fatalf("nomadEscape(%q) = %q leaves an expression", s, e)
		}
	})
}

func TestScriptPathsEscaped(t *testing.T) {
	spec, err := buildSpec(t, KeyCoreURI+"=file:///opt/${X}/heron-core.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	jb, err := spec.Build()
	if err != nil {
		t.Fatal(err)
	}
	if sh := script(t, jb.TaskGroups[0]); !strings.Contains(sh, "tar -xzf '/opt/$${X}/heron-core.tar.gz'\n") {
		t.Errorf("script:\n%s", sh)
	}
}
