package trackerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/tmstats"
	"github.com/heronkit/heronkit/lib/tracker"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// statsTopology serves the fixture topology with its topology manager
// location pointing at a real tmstats server on 127.0.0.1.
func statsTopology(t *testing.T) (*running, *tmstats.Store, *clock, int64) {
	t.Helper()
	root := copyTree(t, filepath.Join("..", "tracker", "testdata", "heron-state", "local"))
	const t0 = 1_700_000_040 // a whole minute
	c := &clock{t: time.Unix(t0, 0)}
	st := tmstats.New(tmstats.Options{Now: c.now})
	st.SetComponents([]string{"word", "exclaim1", "exclaim2"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: tmstats.Handler(st, func() ([]string, []string) {
		return []string{"stmgr-1"}, []string{"stmgr-2"}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	// Point the topology at it with our own writer.
	ctx := context.Background()
	store, err := statemgr.Open(ctx, "file://"+root, statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	loc := &tmanagerpb.TManagerLocation{}
	if err := (nodes.Client{Store: store}).Get(ctx, statemgr.TManagers, "ExclamationTopology", loc); err != nil {
		t.Fatal(err)
	}
	loc.StatsPort = proto.Int32(int32(port))
	if err := (nodes.Client{Store: store}).Set(ctx, statemgr.TManagers, "ExclamationTopology", loc); err != nil {
		t.Fatal(err)
	}
	return startTracker(t, fixtureConfig(root)), st, c, t0
}

const topo = "cluster=local&environ=default&topology=ExclamationTopology"

func getJSON(t *testing.T, base, path string, want int) any {
	t.Helper()
	code, _, body := get(t, base+path)
	if code != want {
		t.Fatalf("GET %s: status %d, want %d; body %s", path, code, want, body)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return v
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestMetricsFromStatsServer(t *testing.T) {
	r, st, c, t0 := statsTopology(t)
	base := r.srv.URL
	a, b := "container_1_word_1", "container_2_word_2"
	// Minute 0: 1 + 2 emitted by a; minute 1: 5 by a, 7 by b; latencies AVG.
	st.Add("word", a, "__emit-count/default", "1", time.Time{})
	st.Add("word", a, "__emit-count/default", "2", time.Time{})
	st.Add("word", a, "__complete-latency/default", "10", time.Time{})
	st.Add("word", a, "__complete-latency/default", "20", time.Time{})
	c.t = c.t.Add(60 * time.Second)
	st.Add("word", a, "__emit-count/default", "5", time.Time{})
	st.Add("word", b, "__emit-count/default", "7", time.Time{})
	c.t = c.t.Add(30 * time.Second)
	now := c.t.Unix()

	got := getJSON(t, base, "/topologies/metrics?"+topo+"&component=word&metricname=__emit-count/default&metricname=__complete-latency/default", 200)
	want := fmt.Sprintf(`{"component":"word","interval":%d,"metrics":{"__complete-latency/default":{"%s":"15.000000"},"__emit-count/default":{"%s":"8.000000","%s":"7.000000"}}}`, now, a, a, b)
	if js(got) != want {
		t.Errorf("metrics all time =\n %s\nwant\n %s", js(got), want)
	}
	got = getJSON(t, base, "/topologies/metrics?"+topo+"&component=word&metricname=__emit-count/default&instance="+a+"&interval=20", 200)
	want = fmt.Sprintf(`{"component":"word","interval":20,"metrics":{"__emit-count/default":{"%s":"5.000000"}}}`, a)
	if js(got) != want {
		t.Errorf("metrics last 60 s = %s\nwant %s", js(got), want)
	}

	// Timeline: bucket starts as keys; float values; the legacy path keeps strings.
	q := fmt.Sprintf("&component=word&metricname=__emit-count/default&instance=%s&starttime=%d&endtime=%d", a, t0+30, now)
	got = getJSON(t, base, "/topologies/metrics/timeline?"+topo+q, 200)
	want = fmt.Sprintf(`{"component":"word","endtime":%d,"starttime":%d,"timeline":{"__emit-count/default":{"%s":{"%d":3,"%d":5}}}}`, now, t0+30, a, t0, t0+60)
	if js(got) != want {
		t.Errorf("timeline = %s\nwant %s", js(got), want)
	}
	_, _, raw := get(t, base+"/topologies/metricstimeline?"+topo+q)
	if !strings.Contains(string(raw), fmt.Sprintf(`"%d":"5.000000","%d":"3.000000"`, t0+60, t0)) {
		t.Errorf("legacy timeline = %s", raw)
	}

	// Query language over the same data.
	query := func(expr string, start, end int64) string {
		v := getJSON(t, base, fmt.Sprintf("/topologies/metrics/query?%s&starttime=%d&endtime=%d&query=%s", topo, start, end, url.QueryEscape(expr)), 200)
		return js(v.(map[string]any)["timeline"])
	}
	if got := query("TS(word,*,__emit-count/default)", t0, t0+60); got != fmt.Sprintf(`[{"data":{"%d":3,"%d":5},"instance":"%s"},{"data":{"%d":7},"instance":"%s"}]`, t0, t0+60, a, t0+60, b) {
		t.Errorf("TS = %s", got)
	}
	if got := query("SUM(TS(word,*,__emit-count/default))", t0, t0+60); got != fmt.Sprintf(`[{"data":{"%d":3,"%d":12},"instance":null}]`, t0, t0+60) {
		t.Errorf("SUM = %s", got)
	}
	if got := query("RATE(TS(word,"+a+",__emit-count/default))", t0, t0+60); got != fmt.Sprintf(`[{"data":{"%d":2},"instance":"%s"}]`, t0+60, a) {
		t.Errorf("RATE = %s", got)
	}
	_, _, alias := get(t, base+fmt.Sprintf("/topologies/metricsquery?%s&starttime=%d&endtime=%d&query=%s", topo, t0, t0+60, url.QueryEscape("MAX(TS(word,*,__emit-count/default))")))
	if !strings.Contains(string(alias), fmt.Sprintf(`"%d":7.0`, t0+60)) {
		t.Errorf("metricsquery alias = %s", alias)
	}

	// Errors.
	for path, code := range map[string]int{
		"/topologies/metrics/query?" + topo + "&starttime=10&endtime=5&query=TS(a,*,b)":   400,
		"/topologies/metrics/timeline?" + topo + "&component=word&starttime=10&endtime=5": 400,
		"/topologies/metrics/query?" + topo + "&starttime=1&endtime=5&query=FOO(1)":       400,
		"/topologies/metrics/query?" + topo + "&starttime=1&endtime=5":                    422,
		"/topologies/metrics/timeline?" + topo + "&component=word&starttime=x&endtime=5":  422,
		"/topologies/metrics?cluster=local&environ=default&topology=nope&component=word":  404,
		"/topologies/metrics?" + topo: 422,
	} {
		if got, _, body := get(t, base+path); got != code {
			t.Errorf("%s: status %d, want %d (%s)", path, got, code, body)
		}
	}
	_, _, body := get(t, base+"/topologies/metrics/timeline?"+topo+"&component=word&starttime=10&endtime=5")
	if string(body) != `{"detail":"start_time > end_time"}` {
		t.Errorf("start > end body %s", body)
	}

	// Exceptions and the summary.
	st.AddException(&tmanagerpb.TmanagerExceptionLog{ComponentName: proto.String("word"), Hostname: proto.String("h:6001"),
		InstanceId: proto.String(a), Stacktrace: proto.String("java.lang.RuntimeException: boom\n\tat W.next"),
		Lasttime: proto.String("Tue Mar 01 09:11:03 UTC 2023"), Firsttime: proto.String("Tue Mar 01 09:10:03 UTC 2023"), Count: proto.Int32(3)})
	got = getJSON(t, base, "/topologies/exceptions?"+topo+"&component=word", 200)
	want = fmt.Sprintf(`[{"count":"3","firsttime":"Tue Mar 01 09:10:03 UTC 2023","hostname":"h:6001","instance_id":"%s","lasttime":"Tue Mar 01 09:11:03 UTC 2023","logging":null,"stacktrace":"java.lang.RuntimeException: boom\n\tat W.next"}]`, a)
	if js(got) != want {
		t.Errorf("exceptions = %s\nwant %s", js(got), want)
	}
	got = getJSON(t, base, "/topologies/exceptionsummary?"+topo+"&component=word", 200)
	if js(got) != `[{"class_name":"java.lang.RuntimeException","count":"3","firsttime":"Tue Mar 01 09:10:03 UTC 2023","lasttime":"Tue Mar 01 09:11:03 UTC 2023"}]` {
		t.Errorf("summary = %s", js(got))
	}
	// A component of the topology with nothing reported yet has no exceptions.
	if got := getJSON(t, base, "/topologies/exceptions?"+topo+"&component=exclaim2", 200); js(got) != `[]` {
		t.Errorf("quiet component = %s", js(got))
	}
	getJSON(t, base, "/topologies/exceptions?"+topo+"&component=nope", 404)

	got = getJSON(t, base, "/topologies/runtimestate?"+topo, 200)
	if js(got.(map[string]any)["stmgrs"]) != `{"stmgr-1":{"is_registered":true},"stmgr-2":{"is_registered":false}}` {
		t.Errorf("runtimestate = %s", js(got))
	}
}

func TestUnreachableTopologyManager(t *testing.T) {
	root := copyTree(t, filepath.Join("..", "tracker", "testdata", "heron-state", "local"))
	// A port that was free a moment ago: nobody answers there.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx := context.Background()
	store, err := statemgr.Open(ctx, "file://"+root, statemgr.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	cl := nodes.Client{Store: store}
	loc := &tmanagerpb.TManagerLocation{}
	_ = cl.Get(ctx, statemgr.TManagers, "ExclamationTopology", loc)
	loc.StatsPort = proto.Int32(int32(port))
	_ = cl.Set(ctx, statemgr.TManagers, "ExclamationTopology", loc)
	store.Close()
	r := startTracker(t, fixtureConfig(root))
	for _, p := range []string{
		"/topologies/metrics?" + topo + "&component=word&metricname=x",
		"/topologies/metrics/timeline?" + topo + "&component=word&metricname=x&starttime=1&endtime=2",
		"/topologies/metrics/query?" + topo + "&starttime=1&endtime=200&query=TS(word,*,x)",
		"/topologies/exceptions?" + topo + "&component=word",
		"/topologies/exceptionsummary?" + topo + "&component=word",
		"/topologies/runtimestate?" + topo,
	} {
		code, _, body := get(t, r.srv.URL+p)
		if code != 502 || !strings.Contains(string(body), "reach topology manager") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
	_ = tracker.Marshal
}
