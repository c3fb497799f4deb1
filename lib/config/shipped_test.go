package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestShippedClusters loads the repository's conf/local and conf/localzk and
// checks the values the tools depend on.
func TestShippedClusters(t *testing.T) {
	confDir := filepath.Join("..", "..", "conf")
	load := func(cluster string) *Config {
		t.Helper()
		c, err := Load(LoadOptions{ConfigPath: confDir, Cluster: cluster, SubmitUser: "u",
			Topology: "WordCount", Home: "/home/u", HeronHome: "/opt/heron", LookupEnv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, cluster := range []string{"local", "localzk"} {
		t.Run(cluster, func(t *testing.T) {
			c := load(cluster)
			// Every file Heron ships for this cluster is there and parses.
			for _, f := range []string{"client", "heron_internals", "packing", "scheduler", "statemgr", "uploader", "downloader", "metrics_sinks"} {
				if _, err := os.Stat(filepath.Join(confDir, cluster, f+".yaml")); err != nil {
					t.Error(err)
				}
			}
			for key, want := range map[string]string{
				KeySchedulerClass: "local",
				KeyLauncherClass:  "local",
				KeyUploaderClass:  "localfs",
				KeyPackingClass:   "roundrobin",
				KeyRepackingClass: "roundrobin",
			} {
				if got, err := c.ClassName(key); err != nil || got != want {
					t.Errorf("%s: %q %v", key, got, err)
				}
			}
			for key, want := range map[string]string{
				KeyLocalWorkingDir:  "/home/u/.herondata/topologies/" + cluster + "/u/WordCount",
				KeyLocalFSUploadDir: "/home/u/.herondata/repository/topologies/" + cluster + "/u/WordCount",
				KeyEnviron:          "default",
			} {
				if got := mustString(t, c, key); got != want {
					t.Errorf("%s = %q, want %q", key, got, want)
				}
			}
			reg, err := c.StringMap(KeyDownloaderReg)
			if err != nil || reg["file"] != "org.apache.heron.downloader.FileDownloader" || len(reg) != 4 {
				t.Errorf("downloader registry = %v %v", reg, err)
			}

			in, err := c.Internals()
			if err != nil {
				t.Fatal(err)
			}
			if got := mustString(t, in, "heron.logging.directory"); got != "log-files" {
				t.Errorf("logging directory = %q", got)
			}
			if d, err := in.Duration("heron.tmanager.metrics.collector.maximum.interval.min", 0); err != nil || d != 3*time.Hour {
				t.Errorf("metrics interval = %v %v", d, err)
			}
			if n, err := in.Bytes("heron.streammgr.network.options.maximum.packet.mb", 0); err != nil || n != 10<<20 {
				t.Errorf("max packet = %v %v", n, err)
			}
			if b, err := in.Bool("heron.tmanager.metrics.network.bindallinterfaces", true); err != nil || b {
				t.Errorf("bindallinterfaces = %v %v", b, err)
			}

			ms, err := c.MetricsSinks()
			if err != nil {
				t.Fatal(err)
			}
			sinks, err := ms.Sinks()
			if err != nil {
				t.Fatal(err)
			}
			if len(sinks) != 2 || sinks[0].ID != "file-sink" || sinks[0].Binary != "heron-sink-file" ||
				sinks[1].ID != "tmanager-sink" || sinks[1].Builtin != "tmanager" {
				t.Errorf("sinks = %+v", sinks)
			}
			if s, _ := sinks[0].Settings.String("filename-output", ""); s != "metrics.json" {
				t.Errorf("filename-output = %q", s)
			}
			if n, _ := sinks[0].Settings.Int("sink-restart-attempts", 0); n != -1 {
				t.Errorf("sink-restart-attempts = %d", n)
			}
			if sec, err := ms.Section("metricscache-sink"); err != nil || sec == nil {
				t.Errorf("metricscache-sink section missing: %v", err)
			}
		})
	}

	local := load("local")
	uri, o, err := StateManagerURI(local)
	if err != nil || uri != "file:///home/u/.herondata/repository/state/local" || !o.InitTree {
		t.Errorf("local state manager: %q %+v %v", uri, o, err)
	}
	if b, _ := local.Bool("heron.package.use_core_uri", true); b {
		t.Error("local: use_core_uri should be false")
	}
	if got := mustString(t, local, "heron.package.core.directory"); got != "/opt/heron/dist/heron-core" {
		t.Errorf("core directory = %q", got)
	}
	if got := mustString(t, local, KeyStatemgrConn); got != "LOCALMODE" {
		t.Errorf("connection string = %q", got)
	}

	zk := load("localzk")
	uri, o, err = StateManagerURI(zk)
	if err != nil || uri != "zk://127.0.0.1:2181/heron" {
		t.Errorf("localzk state manager: %q %v", uri, err)
	}
	if !o.InitTree || o.SessionTimeout != 30*time.Second || o.ConnectionTimeout != 30*time.Second ||
		o.RetryCount != 10 || o.RetryInterval != time.Second {
		t.Errorf("localzk options = %+v", o)
	}
	if got := mustString(t, zk, "heron.package.core.uri"); got != "file:///opt/heron/dist/heron-core.tar.gz" {
		t.Errorf("core uri = %q", got)
	}
	if b, _ := zk.Bool("heron.statemgr.is.tunnel.needed", true); b {
		t.Error("localzk: tunnel should be off")
	}
}

// TestShippedNomadCluster checks the keys conf/nomad must carry for the
// Nomad scheduler: its classes, ZooKeeper state and the HTTP uploader.
func TestShippedNomadCluster(t *testing.T) {
	confDir := filepath.Join("..", "..", "conf")
	c, err := Load(LoadOptions{ConfigPath: confDir, Cluster: "nomad", SubmitUser: "u", Home: "/home/u", Topology: "WordCount"})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		KeySchedulerClass: "nomad",
		KeyLauncherClass:  "nomad",
		KeyUploaderClass:  "http",
		KeyPackingClass:   "roundrobin",
	} {
		if got, err := c.ClassName(key); err != nil || got != want {
			t.Errorf("%s: %q %v", key, got, err)
		}
	}
	if uri, _, err := StateManagerURI(c); err != nil || uri != "zk://127.0.0.1:2181/heron" {
		t.Errorf("nomad state manager: %q %v", uri, err)
	}
	if b, err := c.Bool("heron.scheduler.is.service", true); err != nil || b {
		t.Errorf("nomad: heron.scheduler.is.service = %v %v, want false (library scheduler)", b, err)
	}
}
