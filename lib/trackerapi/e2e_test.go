package trackerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/tracker"
)

// TestNativeTopologyEndToEnd submits the word-count example to a local
// cluster, then reads its metrics, timeline, query and exceptions through
// the tracker: the stats side is the executor's topology manager (lib/tmstats).
// It needs bin/heron-submit and bin/heron-executor (make build).
func TestNativeTopologyEndToEnd(t *testing.T) {
	bins := toolkit(t, "heron-submit", "heron-executor")
	wc := testserver.SubmitWordCount(t, testserver.WordCountOptions{HeronSubmit: bins["heron-submit"],
		Properties: []string{"heron.metrics.export.interval.sec=5"}})
	state := wc.StateRoot()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

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
