package trackerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/tracker"
)

// repoRoot is the module root (two levels above this package).
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestNativeTopologyEndToEnd submits the word-count example to a local
// cluster, then reads its metrics, timeline, query and exceptions through
// the tracker: the stats side is the executor's topology manager (lib/tmstats).
// It needs bin/heron-submit and bin/heron-executor (make build).
func TestNativeTopologyEndToEnd(t *testing.T) {
	root := repoRoot(t)
	for _, b := range []string{"heron-submit", "heron-executor"} {
		p := filepath.Join(root, "bin", b)
		if _, err := os.Stat(p); err != nil {
			testserver.Missing(t, "bin/"+b, "run make build once the executor and submit commands exist")
		}
	}
	example := filepath.Join(root, "examples", "wordcount", "wordcount.yaml")
	testserver.RequireFile(t, example, "the word-count example ships with the repository")

	home := t.TempDir()
	state := filepath.Join(home, ".herondata", "repository", "state", "local")
	env := append(os.Environ(), "HOME="+home, "PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	submit := exec.CommandContext(ctx, filepath.Join(root, "bin", "heron-submit"), "submit", "local", example, "--config-property", "heron.metrics.export.interval.sec=5")
	submit.Env, submit.Dir = env, home
	if out, err := submit.CombinedOutput(); err != nil {
		t.Fatalf("heron-submit submit local %s: %v\n%s", example, err, out)
	}
	defer func() {
		kill := exec.Command(filepath.Join(root, "bin", "heron-submit"), "kill", "local", "WordCount")
		kill.Env, kill.Dir = env, home
		if out, err := kill.CombinedOutput(); err != nil {
			t.Errorf("heron-submit kill: %v\n%s", err, out)
		}
	}()

	r := startTracker(t, &tracker.Config{StateManagers: []tracker.StateManager{{Type: "file", Name: "local", RootPath: state}}})
	var cluster, environ string
	poll := func(what string, check func() bool) {
		t.Helper()
		if err := testserver.Poll(ctx, 2*time.Minute, func() error {
			if check() {
				return nil
			}
			return fmt.Errorf("not yet: %s", what)
		}); err != nil {
			t.Fatal(err)
		}
	}
	poll("WordCount listed with a topology manager and a physical plan", func() bool {
		for _, tp := range r.tr.Snapshot().Topologies {
			if tp.Name == "WordCount" && tp.Views != nil && tp.TManager.GetStatsPort() != 0 && len(tp.Instances) > 0 {
				cluster, environ = tp.Cluster, tp.Environ
				return true
			}
		}
		return false
	})
	q := fmt.Sprintf("cluster=%s&environ=%s&topology=WordCount", url.QueryEscape(cluster), url.QueryEscape(environ))
	var spout string
	pp := map[string]any{}
	_, _, body := get(t, r.srv.URL+"/topologies/physicalplan?"+q)
	_ = json.Unmarshal(body, &pp)
	for name := range pp["spouts"].(map[string]any) {
		spout = name
	}
	var last string
	defer func() {
		if t.Failed() {
			t.Logf("last /topologies/metrics answer for %s: %s", spout, last)
		}
	}()
	poll("the spout's emit count", func() bool {
		code, _, b := get(t, r.srv.URL+"/topologies/metrics?"+q+"&component="+spout+"&metricname=__emit-count/default")
		last = fmt.Sprintf("%d %s", code, b)
		return code == 200 && strings.Contains(string(b), `"__emit-count/default":{"`)
	})
	now := time.Now().Unix()
	code, _, b := get(t, fmt.Sprintf("%s/topologies/metrics/timeline?%s&component=%s&metricname=__emit-count/default&starttime=%d&endtime=%d", r.srv.URL, q, spout, now-600, now))
	if code != 200 || !strings.Contains(string(b), `"timeline":{"__emit-count/default":{"`) {
		t.Errorf("timeline: %d %s", code, b)
	}
	code, _, b = get(t, fmt.Sprintf("%s/topologies/metrics/query?%s&starttime=%d&endtime=%d&query=%s", r.srv.URL, q, now-600, now,
		url.QueryEscape("SUM(TS("+spout+",*,__emit-count/default))")))
	if code != 200 || !strings.Contains(string(b), `"instance":null`) {
		t.Errorf("query: %d %s", code, b)
	}
	code, _, b = get(t, r.srv.URL+"/topologies/exceptions?"+q+"&component="+spout)
	if code != 200 {
		t.Errorf("exceptions: %d %s", code, b)
	}
}
