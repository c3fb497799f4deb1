package sink_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/sink/scribe/scribetest"
	"github.com/heronkit/heronkit/lib/testserver"
)

// topologyWait bounds each wait for a destination during the topology run.
const topologyWait = 90 * time.Second

// A native topology submitted to the local cluster with all four sinks in
// its metrics_sinks.yaml feeds all four: the executor's metrics managers
// start the heron-sink-* binaries and write records to them.
//
// It needs the built binaries on PATH (make test puts bin/ there): it skips
// without them, and fails under CI=true.
func TestNativeTopologyFeedsAllSinks(t *testing.T) {
	for _, b := range []string{"heron-submit", "heron-executor", "heron-sink-file", "heron-sink-graphite",
		"heron-sink-prometheus", "heron-sink-scribe"} {
		if _, err := exec.LookPath(b); err != nil {
			testserver.Missing(t, b, "run make build and put bin/ on PATH (make test does)")
		}
	}
	carbon := testserver.StartCarbon(t)
	scribeSrv := scribetest.Start(t)
	promPort := testserver.FreePort(t)
	prom := testserver.StartPrometheus(t, testserver.PromTarget{Addr: testserver.Host + ":" + strconv.Itoa(promPort), Path: "/metrics"})

	home := t.TempDir()
	confDir := filepath.Join(home, "conf")
	copyDir(t, filepath.Join("..", "..", "conf", "local"), filepath.Join(confDir, "local"))
	_, scribePort, _ := strings.Cut(scribeSrv.Addr(), ":")
	sinks := fmt.Sprintf(`sinks: [file-sink, graphite-sink, prometheus-sink, scribe-sink, tmanager-sink]
file-sink:
  class: "org.apache.heron.metricsmgr.sink.FileSink"
  flush-frequency-ms: 1000
  sink-restart-attempts: -1
  filename-output: "metrics.json"
  file-maximum: 3
graphite-sink:
  class: "org.apache.heron.metricsmgr.sink.GraphiteSink"
  flush-frequency-ms: 1000
  graphite_host: "127.0.0.1"
  graphite_port: %d
  metrics_prefix: "heron"
  server_max_reconnect-attempts: 20
# Every container runs its sinks; on one machine only one of them gets the
# port, the others exit and are not restarted.
prometheus-sink:
  class: "org.apache.heron.metricsmgr.sink.PrometheusSink"
  port: %d
  path: /metrics
  listen-host: "127.0.0.1"
  sink-restart-attempts: 0
scribe-sink:
  class: "org.apache.heron.metricsmgr.sink.scribe.ScribeSink"
  flush-frequency-ms: 1000
  scribe-host: "127.0.0.1"
  scribe-port: %s
  scribe-category: "heron"
  service-namespace: "heron"
  scribe-timeout-ms: 2000
  scribe-connect-server-attempts: 2
  scribe-retry-attempts: 5
  scribe-retry-interval-ms: 100
tmanager-sink:
  class: "org.apache.heron.metricsmgr.sink.tmanager.TManagerSink"
  flush-frequency-ms: 60000
  sink-restart-attempts: -1
  tmanager-location-check-interval-sec: 1
`, carbon.Port(), promPort, scribePort)
	writeFile(t, filepath.Join(confDir, "local", "metrics_sinks.yaml"), sinks)
	topoDir := filepath.Join(home, "topo")
	writeFile(t, filepath.Join(topoDir, "sinktopo.yaml"), `name: SinkTopo
config:
  topology.stmgrs: 1
spouts:
  - name: words
    command: "while true; do echo hello; sleep 0.05; done"
    parallelism: 1
bolts:
  - name: sink
    command: "cat > /dev/null"
    parallelism: 1
streams:
  - from: words
    to: sink
    grouping: shuffle
`)

	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "heron-submit", args...)
		cmd.Dir = topoDir
		cmd.Env = append(os.Environ(), "HOME="+home)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("heron-submit %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("submit", "--config-path", confDir, "--config-property", "heron.metrics.export.interval.sec=1",
		"local", filepath.Join(topoDir, "sinktopo.yaml"))
	t.Cleanup(func() { run("kill", "--config-path", confDir, "local", "SinkTopo") })

	// File sink: a finished metrics file in a container's directory.
	err := testserver.Poll(context.Background(), topologyWait, func() error {
		var found []string
		_ = filepath.WalkDir(filepath.Join(home, ".herondata"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), "metrics.json.metricsmgr-") && !strings.HasSuffix(p, ".partial") {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), `"source"`) {
					found = append(found, p)
				}
			}
			return nil
		})
		if len(found) == 0 {
			return fmt.Errorf("no metrics.json.metricsmgr-* file with records under %s", home)
		}
		t.Logf("file sink wrote %s", found[0])
		return nil
	})
	if err != nil {
		t.Error("file sink:", err)
	}
	// Graphite: carbon created whisper files under heron/SinkTopo.
	err = testserver.Poll(context.Background(), topologyWait, func() error {
		var n int
		_ = filepath.WalkDir(filepath.Join(filepath.Dir(carbon.WhisperFile("heron.x")), "SinkTopo"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".wsp") {
				n++
			}
			return nil
		})
		if n == 0 {
			return fmt.Errorf("carbon stored nothing under heron.SinkTopo")
		}
		t.Logf("carbon holds %d whisper files of the topology", n)
		return nil
	})
	if err != nil {
		t.Error("graphite sink:", err)
	}
	// Scribe: entries with the topology's service.
	entries, err := scribeSrv.WaitEntries(1, topologyWait)
	if err != nil {
		t.Error("scribe sink:", err)
	} else if t.Logf("scribe got %d entries, the first: %s", len(entries), entries[0].Message); !strings.Contains(entries[0].Message, `"service":"heron/SinkTopo"`) {
		t.Errorf("scribe entry %q lacks the service", entries[0].Message)
	}
	// Prometheus: the server scraped series of the topology.
	if res, err := prom.WaitQuery(`count({topology="SinkTopo"})`, topologyWait); err != nil {
		t.Error("prometheus sink:", err)
	} else {
		t.Logf("prometheus holds %v series of the topology", res[0].Value)
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatalf("read the local cluster config: %v", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, e.Name()), string(b))
	}
}
