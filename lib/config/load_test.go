package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeCluster makes <tmp>/<cluster>/ with the given files and returns <tmp>.
func writeCluster(t *testing.T, cluster string, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, cluster)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func noEnv(string) (string, bool) { return "", false }

func baseOpts(cp string) LoadOptions {
	return LoadOptions{ConfigPath: cp, Cluster: "c1", SubmitUser: "streamer", Home: "/home/streamer",
		HeronHome: "/opt/heron", LookupEnv: noEnv}
}

func mustString(t *testing.T, c *Config, key string) string {
	t.Helper()
	s, err := c.String(key, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadMissingCluster(t *testing.T) {
	cp := t.TempDir()
	_, err := Load(LoadOptions{ConfigPath: cp, Cluster: "nope", Home: "/h", LookupEnv: noEnv})
	want := `cluster "nope" not found: no folder ` + filepath.Join(cp, "nope") + "; create it or pass --config-path"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestLoadOrder(t *testing.T) {
	cp := writeCluster(t, "c1", map[string]string{
		"cluster.yaml":    "k.cluster: cluster\nk.all: cluster\n",
		"client.yaml":     "k.all: client\n",
		"packing.yaml":    "k.all: packing\n",
		"scheduler.yaml":  "k.all: scheduler\nk.sched: ${HOME}/w/${CLUSTER}/${ROLE}/${ENVIRON}/${TOPOLOGY}\n",
		"statemgr.yaml":   "k.all: statemgr\n",
		"uploader.yaml":   "k.all: uploader\nk.up: uploader\n",
		"downloader.yaml": "k.down: downloader\n",
		"stateful.yaml":   "k.all: stateful\n",
		// Not merged: Heron hands these to its processes.
		"heron_internals.yaml": "k.internal: 1\n",
		"metrics_sinks.yaml":   "sinks: []\n",
	})
	rel := filepath.Join(t.TempDir(), "release.yaml")
	os.WriteFile(rel, []byte("heron.build.version : '0.20.5'\nk.all: release\n"), 0o644)
	ovr := filepath.Join(t.TempDir(), "override.yaml")
	os.WriteFile(ovr, []byte("k.all: override\nk.ovr: override\n"), 0o644)

	o := baseOpts(cp)
	o.ReleaseFile, o.OverrideFile = rel, ovr
	o.Properties = []string{"k.ovr=prop", "k.eq=a=b=c", "heron.config.cluster=ignored", "k.b=True"}
	o.Topology = "WC"
	c, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"k.cluster":               "cluster",
		"k.all":                   "override",
		"k.up":                    "uploader",
		"k.down":                  "downloader",
		"k.ovr":                   "prop",
		"k.eq":                    "a=b=c",
		"heron.build.version":     "0.20.5",
		KeyCluster:                "c1", // command line beats properties
		KeyRole:                   "streamer",
		KeyEnviron:                "default",
		KeySubmitUser:             "streamer",
		KeyTopologyName:           "WC",
		"k.sched":                 "/home/streamer/w/c1/streamer/default/WC",
		KeyHeronHome:              "/opt/heron",
		KeyHeronConf:              filepath.Join(cp, "c1"),
		"heron.binaries.executor": "/opt/heron/bin/heron-executor",
	} {
		if got := mustString(t, c, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if b, err := c.Bool("k.b", false); err != nil || !b {
		t.Errorf("k.b = %v, %v", b, err)
	}
	if c.Has("k.internal") || c.Has("sinks") {
		t.Error("heron_internals.yaml or metrics_sinks.yaml was merged")
	}
	if o := c.Origin("k.up"); o.File != filepath.Join(cp, "c1", "uploader.yaml") || o.Line != 2 {
		t.Errorf("origin of k.up = %v", o)
	}
	if o := c.Origin("k.ovr"); o.File != "--config-property" {
		t.Errorf("origin of k.ovr = %v", o)
	}
	if v, _ := c.Raw("k.sched"); v != "${HOME}/w/${CLUSTER}/${ROLE}/${ENVIRON}/${TOPOLOGY}" {
		t.Errorf("raw k.sched = %v", v)
	}
	in, err := c.Internals()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := in.Int("k.internal", 0); n != 1 || err != nil {
		t.Errorf("internals k.internal = %v %v", n, err)
	}
	if s, _ := in.String("k.ovr", ""); s != "prop" {
		t.Errorf("internals do not see overrides: k.ovr = %q", s)
	}
}

func TestLoadRoleEnvDefaultsAndRequired(t *testing.T) {
	cp := writeCluster(t, "c1", map[string]string{
		"client.yaml": "heron.config.is.role.required: True\nheron.config.is.env.required: true\n",
	})
	o := baseOpts(cp)
	_, err := Load(o)
	if err == nil || !strings.Contains(err.Error(), "role required but not given") ||
		!strings.Contains(err.Error(), "heron.config.is.role.required") {
		t.Fatalf("err = %v", err)
	}
	o.Role = "r"
	_, err = Load(o)
	if err == nil || !strings.Contains(err.Error(), "environ required") {
		t.Fatalf("err = %v", err)
	}
	o.Environ = "prod"
	c, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	if mustString(t, c, KeyRole) != "r" || mustString(t, c, KeyEnviron) != "prod" {
		t.Error("role/environ not taken")
	}

	// Without client.yaml, both default, each on its own.
	cp = writeCluster(t, "c1", nil)
	o = baseOpts(cp)
	o.Role = "r"
	c, err = Load(o)
	if err != nil {
		t.Fatal(err)
	}
	if mustString(t, c, KeyEnviron) != DefaultEnviron {
		t.Errorf("environ = %q", mustString(t, c, KeyEnviron))
	}
}

func TestLoadErrors(t *testing.T) {
	cp := writeCluster(t, "c1", map[string]string{
		"scheduler.yaml": "a: 1\nheron.x.count: lots\nlist: [1, 2]\n",
	})
	o := baseOpts(cp)
	c, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Int("heron.x.count", 0)
	want := "config: heron.x.count in " + filepath.Join(cp, "c1", "scheduler.yaml") + `:2: want an integer, got "lots"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	if _, err := c.String("list", ""); err == nil || !strings.Contains(err.Error(), "got a list") {
		t.Errorf("String(list) err = %v", err)
	}

	for name, mod := range map[string]func(*LoadOptions){
		"missing override": func(o *LoadOptions) { o.OverrideFile = filepath.Join(cp, "none.yaml") },
		"missing release":  func(o *LoadOptions) { o.ReleaseFile = filepath.Join(cp, "none.yaml") },
		"bad property":     func(o *LoadOptions) { o.Properties = []string{"novalue"} },
		"empty key":        func(o *LoadOptions) { o.Properties = []string{"=v"} },
		"slash in role":    func(o *LoadOptions) { o.Role = "../x" },
		"dotdot topology":  func(o *LoadOptions) { o.Topology = ".." },
		"empty cluster":    func(o *LoadOptions) { o.Cluster = "" },
	} {
		o := baseOpts(cp)
		mod(&o)
		if _, err := Load(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}

	bad := writeCluster(t, "c1", map[string]string{"packing.yaml": "a: 1\nb: [unclosed\n"})
	_, err = Load(baseOpts(bad))
	if err == nil || !strings.Contains(err.Error(), "packing.yaml: not valid YAML") {
		t.Errorf("bad yaml: %v", err)
	}
	notMap := writeCluster(t, "c1", map[string]string{"packing.yaml": "- a\n- b\n"})
	_, err = Load(baseOpts(notMap))
	if err == nil || !strings.Contains(err.Error(), "packing.yaml:1: want a map") {
		t.Errorf("list at top: %v", err)
	}
	empty := writeCluster(t, "c1", map[string]string{"packing.yaml": "", "client.yaml": "# only a comment\n", "uploader.yaml": "~\n"})
	if _, err := Load(baseOpts(empty)); err != nil {
		t.Errorf("empty files: %v", err)
	}
}

func TestGetters(t *testing.T) {
	l, err := parseYAML([]byte(`
s: text
i: 42
istr: " 17 "
f: 1.5
whole: 3.0
b1: True
b2: "false"
b3: "yes"
big: 99999999999
timeout.ms: 250
interval.sec: "3"
window.min: 2
limit-second: 4
size.mb: 2
size.bytes: 10
list: [a, 1, true]
map: {x: 1, y: b}
nul: null
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := newSection(l.vals, l.origins)
	check := func(got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("got %v (%v), want %v", got, err, want)
		}
	}
	s, err := c.String("s", "")
	check(s, "text", err)
	s, err = c.String("i", "")
	check(s, "42", err)
	s, err = c.String("nul", "dflt")
	check(s, "dflt", err)
	s, err = c.String("absent", "dflt")
	check(s, "dflt", err)
	i, err := c.Int("i", 0)
	check(i, 42, err)
	i, err = c.Int("istr", 0)
	check(i, 17, err)
	i, err = c.Int("whole", 0)
	check(i, 3, err)
	i64, err := c.Int64("big", 0)
	check(i64, int64(99999999999), err)
	f, err := c.Float("f", 0)
	check(f, 1.5, err)
	f, err = c.Float("i", 0)
	check(f, 42.0, err)
	b, err := c.Bool("b1", false)
	check(b, true, err)
	b, err = c.Bool("b2", true)
	check(b, false, err)
	b, err = c.Bool("b3", false)
	check(b, true, err)
	d, err := c.Duration("timeout.ms", 0)
	check(d, 250*time.Millisecond, err)
	d, err = c.Duration("interval.sec", 0)
	check(d, 3*time.Second, err)
	d, err = c.Duration("window.min", 0)
	check(d, 2*time.Minute, err)
	d, err = c.Duration("limit-second", 0)
	check(d, 4*time.Second, err)
	d, err = c.Duration("absent.ms", time.Hour)
	check(d, time.Hour, err)
	n, err := c.Bytes("size.mb", 0)
	check(n, int64(2<<20), err)
	n, err = c.Bytes("size.bytes", 0)
	check(n, int64(10), err)
	ls, err := c.StringList("list")
	check(ls, []string{"a", "1", "true"}, err)
	m, err := c.StringMap("map")
	check(m, map[string]string{"x": "1", "y": "b"}, err)

	for _, bad := range []func() error{
		func() error { _, err := c.Int("f", 0); return err },
		func() error { _, err := c.Int("s", 0); return err },
		func() error { _, err := c.Bool("s", false); return err },
		func() error { _, err := c.Bool("i", false); return err },
		func() error { _, err := c.Float("list", 0); return err },
		func() error { _, err := c.Duration("s", 0); return err }, // no unit in the name
		func() error { _, err := c.Duration("interval.sec.x", 0); return err },
		func() error { _, err := c.StringMap("list"); return err },
		func() error { _, err := c.StringList("map"); return err },
	} {
		if err := bad(); err == nil {
			t.Error("want an error")
		} else if !strings.Contains(err.Error(), "config: ") {
			t.Errorf("error does not say where: %v", err)
		}
	}
}

func TestParseClusterRoleEnv(t *testing.T) {
	for in, want := range map[string]ClusterRoleEnv{
		"local":          {Cluster: "local"},
		"local/ads":      {Cluster: "local", Role: "ads"},
		"local/ads/prod": {Cluster: "local", Role: "ads", Environ: "prod"},
		"c//prod":        {Cluster: "c", Environ: "prod"},
	} {
		got, err := ParseClusterRoleEnv(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "/r/e", "a/b/c/d", "../x", "c/..", "c/r/ e"} {
		if _, err := ParseClusterRoleEnv(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseProperty(t *testing.T) {
	for in, want := range map[string][2]any{
		"a=b":      {"a", "b"},
		"a=":       {"a", ""},
		"a=True":   {"a", true},
		"a=FALSE":  {"a", false},
		"a=yes":    {"a", "yes"},
		"a=10":     {"a", "10"},
		"a=x=y":    {"a", "x=y"},
		"a.b-c=  ": {"a.b-c", "  "},
	} {
		k, v, err := ParseProperty(in)
		if err != nil || k != want[0] || v != want[1] {
			t.Errorf("%q: %q %#v %v", in, k, v, err)
		}
	}
	for _, bad := range []string{"", "a", "=b", "a b=c"} {
		if _, _, err := ParseProperty(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestOverrideYAML(t *testing.T) {
	out, err := OverrideYAML(nil)
	if err != nil || string(out) != "{}\n" {
		t.Fatalf("%q %v", out, err)
	}
	props, _ := ParseProperties([]string{"b=10", "a=true", "c=x: y", "b=11"})
	out, err = OverrideYAML(props)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a: true\nb: \"11\"\nc: 'x: y'\n"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
	l, err := parseYAML(out, "override.yaml")
	if err != nil || !reflect.DeepEqual(l.vals, props) {
		t.Errorf("round trip: %v %v", l.vals, err)
	}
}

func TestClusterModeAndForMode(t *testing.T) {
	cp := writeCluster(t, "c1", map[string]string{
		"client.yaml":    "from.client: yes\n",
		"scheduler.yaml": "heron.class.scheduler: local\n",
		"override.yaml":  "from.override: o\n",
	})
	// Local mode, then the cluster-mode view of the same keys.
	c, err := Load(baseOpts(cp))
	if err != nil {
		t.Fatal(err)
	}
	cc := c.ForMode(ClusterMode)
	if got := mustString(t, cc, "heron.binaries.executor"); got != "./heron-core/bin/heron-executor" {
		t.Errorf("cluster executor = %q", got)
	}
	if got := mustString(t, cc, "heron.config.file.system.yaml"); got != "./heron-conf/heron_internals.yaml" {
		t.Errorf("cluster internals = %q", got)
	}
	if cc.ForMode(LocalMode).Mode() != LocalMode || mustString(t, c, "heron.binaries.executor") != "/opt/heron/bin/heron-executor" {
		t.Error("local view changed")
	}

	// Cluster mode straight from a container's folder: client.yaml is not read,
	// override.yaml in the folder is.
	o := baseOpts("")
	o.HeronHome = ""
	o.Dir = filepath.Join(cp, "c1")
	o.Mode = ClusterMode
	k, err := Load(o)
	if err != nil {
		t.Fatal(err)
	}
	if k.Has("from.client") {
		t.Error("cluster mode read client.yaml")
	}
	if mustString(t, k, "from.override") != "o" {
		t.Error("cluster mode missed override.yaml")
	}
	if got := mustString(t, k, "heron.binaries.shell"); got != "./heron-core/bin/heron-shell" {
		t.Errorf("shell = %q", got)
	}
}

func TestWith(t *testing.T) {
	cp := writeCluster(t, "c1", map[string]string{
		"uploader.yaml": "dir: ${HOME}/repo/${CLUSTER}/${ROLE}/${TOPOLOGY}\n",
	})
	c, err := Load(baseOpts(cp))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustString(t, c, "dir"); got != "/home/streamer/repo/c1/streamer/${TOPOLOGY}" {
		t.Errorf("before: %q", got)
	}
	c2 := c.With(map[string]any{KeyTopologyName: "T"})
	if got := mustString(t, c2, "dir"); got != "/home/streamer/repo/c1/streamer/T" {
		t.Errorf("after: %q", got)
	}
	if c.Has(KeyTopologyName) {
		t.Error("With changed the original")
	}
}

func TestClassName(t *testing.T) {
	for _, tc := range []struct{ key, class, want string }{
		{KeyStateManager, "org.apache.heron.statemgr.localfs.LocalFileSystemStateManager", "localfs"},
		{KeyStateManager, "org.apache.heron.statemgr.zookeeper.curator.CuratorStateManager", "zookeeper"},
		{KeyStateManager, "zookeeper", "zookeeper"},
		{KeySchedulerClass, "org.apache.heron.scheduler.local.LocalScheduler", "local"},
		{KeyLauncherClass, "org.apache.heron.scheduler.local.LocalLauncher", "local"},
		{KeySchedulerClass, "org.apache.heron.scheduler.nomad.NomadScheduler", "nomad"},
		{KeyLauncherClass, "org.apache.heron.scheduler.kubernetes.KubernetesLauncher", "kubernetes"},
		{KeySchedulerClass, "org.apache.heron.scheduler.slurm.SlurmScheduler", "slurm"},
		{KeySchedulerClass, "org.apache.heron.scheduler.aurora.AuroraScheduler", "aurora"},
		{KeySchedulerClass, "org.apache.heron.scheduler.marathon.MarathonScheduler", "marathon"},
		{KeySchedulerClass, "org.apache.heron.scheduler.yarn.YarnScheduler", "yarn"},
		{KeySchedulerClass, "yarn", "yarn"},
		{KeyUploaderClass, "org.apache.heron.uploader.localfs.LocalFileSystemUploader", "localfs"},
		{KeyUploaderClass, "org.apache.heron.uploader.hdfs.HdfsUploader", "hdfs"},
		{KeyUploaderClass, "org.apache.heron.uploader.s3.S3Uploader", "s3"},
		{KeyUploaderClass, "org.apache.heron.uploader.scp.ScpUploader", "scp"},
		{KeyUploaderClass, "org.apache.heron.uploader.http.HttpUploader", "http"},
		{KeyUploaderClass, "org.apache.heron.uploader.gcs.GcsUploader", "gcs"},
		{KeyUploaderClass, "org.apache.heron.uploader.dlog.DLUploader", "dlog"},
		{KeyUploaderClass, "org.apache.heron.uploader.NullUploader", "null"},
		{KeyPackingClass, "org.apache.heron.packing.roundrobin.RoundRobinPacking", "roundrobin"},
		{KeyPackingClass, "org.apache.heron.packing.binpacking.FirstFitDecreasingPacking", "ffd"},
		{KeyRepackingClass, "org.apache.heron.packing.roundrobin.ResourceCompliantRRPacking", "rcrr"},
		{KeyRepackingClass, " ffd ", "ffd"},
	} {
		got, err := ShortClassName(tc.key, tc.class)
		if err != nil || got != tc.want {
			t.Errorf("%s=%s: %q %v", tc.key, tc.class, got, err)
		}
	}
	// A scheduler class is not a launcher, and a launcher name is not a scheduler.
	for _, tc := range [][2]string{
		{KeyLauncherClass, "org.apache.heron.scheduler.local.LocalScheduler"},
		{KeySchedulerClass, "org.apache.heron.scheduler.local.LocalLauncher"},
		{KeyStateManager, "localfs.LocalFileSystemStateManager"},
		{"heron.class.nothing", "local"},
	} {
		if _, err := ShortClassName(tc[0], tc[1]); err == nil {
			t.Errorf("%s=%s: no error", tc[0], tc[1])
		}
	}

	cp := writeCluster(t, "c1", map[string]string{
		"statemgr.yaml": "heron.class.state.manager: com.example.Mine\n",
	})
	c, err := Load(baseOpts(cp))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ClassName(KeyStateManager)
	if err == nil || !strings.Contains(err.Error(), "statemgr.yaml:1") || !strings.Contains(err.Error(), "localfs, zookeeper, org.apache") {
		t.Errorf("unknown class err = %v", err)
	}
	_, err = c.ClassName(KeyUploaderClass)
	if err == nil || !strings.Contains(err.Error(), "is not set; set it in "+filepath.Join(cp, "c1", "uploader.yaml")) {
		t.Errorf("unset class err = %v", err)
	}
}

func TestStateManagerURI(t *testing.T) {
	cp := writeCluster(t, "c1", map[string]string{
		"statemgr.yaml": `heron.class.state.manager: org.apache.heron.statemgr.zookeeper.curator.CuratorStateManager
heron.statemgr.connection.string: " h1:2181, h2:2181 "
heron.statemgr.root.path: /heron/${CLUSTER}
heron.statemgr.zookeeper.is.initialize.tree: False
heron.statemgr.zookeeper.session.timeout.ms: 5000
heron.statemgr.zookeeper.connection.timeout.ms: "2000"
heron.statemgr.zookeeper.retry.count: 3
heron.statemgr.zookeeper.retry.interval.ms: 100
`})
	c, err := Load(baseOpts(cp))
	if err != nil {
		t.Fatal(err)
	}
	uri, o, err := StateManagerURI(c)
	if err != nil {
		t.Fatal(err)
	}
	if uri != "zk://h1:2181,h2:2181/heron/c1" {
		t.Errorf("uri = %q", uri)
	}
	if o.InitTree || o.SessionTimeout != 5*time.Second || o.ConnectionTimeout != 2*time.Second ||
		o.RetryCount != 3 || o.RetryInterval != 100*time.Millisecond {
		t.Errorf("options = %+v", o)
	}

	cp = writeCluster(t, "c1", map[string]string{
		"statemgr.yaml": "heron.class.state.manager: localfs\nheron.statemgr.root.path: ~/state/${CLUSTER}/\n",
	})
	c, err = Load(baseOpts(cp))
	if err != nil {
		t.Fatal(err)
	}
	uri, o, err = StateManagerURI(c)
	if err != nil || uri != "file:///home/streamer/state/c1" || !o.InitTree {
		t.Errorf("local: %q %+v %v", uri, o, err)
	}

	for name, body := range map[string]string{
		"no root":       "heron.class.state.manager: localfs\n",
		"localmode":     "heron.class.state.manager: zookeeper\nheron.statemgr.connection.string: LOCALMODE\nheron.statemgr.root.path: /h\n",
		"path in hosts": "heron.class.state.manager: zookeeper\nheron.statemgr.connection.string: h:1/x\nheron.statemgr.root.path: /h\n",
		"bad timeout":   "heron.class.state.manager: zookeeper\nheron.statemgr.connection.string: h:1\nheron.statemgr.root.path: /h\nheron.statemgr.zookeeper.session.timeout.ms: soon\n",
	} {
		c, err := Load(baseOpts(writeCluster(t, "c1", map[string]string{"statemgr.yaml": body})))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := StateManagerURI(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestMetricsSinks(t *testing.T) {
	cp := writeCluster(t, "c1", map[string]string{
		"metrics_sinks.yaml": `sinks: [file-sink, tm, mine]
file-sink:
  class: org.apache.heron.metricsmgr.sink.FileSink
  file-maximum: 5
tm:
  class: org.apache.heron.metricsmgr.sink.tmanager.TManagerSink
mine:
  class: heron-sink-custom
  flush-frequency-ms: 1000
unlisted:
  class: nothing.we.know
`})
	c, err := Load(baseOpts(cp))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.MetricsSinks()
	if err != nil {
		t.Fatal(err)
	}
	sinks, err := ms.Sinks()
	if err != nil {
		t.Fatal(err)
	}
	if len(sinks) != 3 || sinks[0].Binary != "heron-sink-file" || sinks[1].Builtin != "tmanager" || sinks[2].Binary != "heron-sink-custom" {
		t.Fatalf("sinks = %+v", sinks)
	}
	if d, err := sinks[2].Settings.Duration("flush-frequency-ms", 0); err != nil || d != time.Second {
		t.Errorf("flush = %v %v", d, err)
	}
	if _, err := sinks[0].Settings.Int("class", 0); err == nil || !strings.Contains(err.Error(), "metrics_sinks.yaml:3") {
		t.Errorf("nested error position: %v", err)
	}

	// The override replaces the whole list.
	o := baseOpts(cp)
	o.Properties = []string{"sinks=mine"}
	c, err = Load(o)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ = c.MetricsSinks()
	if ids, err := ms.IDs(); err != nil || !reflect.DeepEqual(ids, []string{"mine"}) {
		t.Errorf("ids = %v %v", ids, err)
	}

	for name, body := range map[string]string{
		"no section": "sinks: [a]\n",
		"no class":   "sinks: [a]\na: {x: 1}\n",
		"bad class":  "sinks: [a]\na: {class: com.example.Sink}\n",
		"path class": "sinks: [a]\na: {class: heron-sink-../x}\n",
		"twice":      "sinks: [a, a]\na: {class: heron-sink-a}\n",
		"not a map":  "sinks: [a]\na: text\n",
	} {
		c, err := Load(baseOpts(writeCluster(t, "c1", map[string]string{"metrics_sinks.yaml": body})))
		if err != nil {
			t.Fatal(err)
		}
		ms, err := c.MetricsSinks()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ms.Sinks(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
