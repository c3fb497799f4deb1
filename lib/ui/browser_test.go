package ui_test

// Browser tests: heron-ui in headless Chromium (chromedp v0.22) against a
// real tracker. Screenshots go to $HERON_TEST_ARTIFACTS (default: the test's
// temp dir); with HERON_UPDATE_SCREENSHOTS=1 the running word count's
// topology page is also saved as docs/images/topology.png for the docs.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/testserver"
	"github.com/heronkit/heronkit/lib/tmstats"
	"github.com/heronkit/heronkit/lib/ui"
)

// browserLimit bounds one browser session (all page loads of one test).
const browserLimit = 3 * time.Minute

// artifacts is where screenshots are kept.
func artifacts(t *testing.T) string {
	dir := os.Getenv("HERON_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "heron-ui", t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startUI serves heron-ui in this process on a free port, against tracker.
func startUI(t *testing.T, tracker string) string {
	t.Helper()
	ln, err := net.Listen("tcp", testserver.Host+":0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ui.Serve(ctx, ln, ui.Config{TrackerURL: tracker, Log: zerolog.Nop()}, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("heron-ui: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// binary finds one of the toolkit's binaries: the repository's bin/ (make
// build) first, then PATH. It skips the test when missing (fails under CI=true).
func binary(t *testing.T, name string) string {
	t.Helper()
	if p, err := filepath.Abs(filepath.Join("..", "..", "bin", name)); err == nil {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	testserver.Missing(t, name, "run 'make build' so bin/"+name+" exists")
	return ""
}

// startTracker runs heron-tracker over a file state root, as a new user
// would: Heron's flags, a free port, stopped at cleanup.
func startTracker(t *testing.T, stateRoot string) string {
	t.Helper()
	exe := binary(t, "heron-tracker")
	port := testserver.FreePort(t)
	cmd := exec.Command(exe, "--bind", testserver.Host, "--port", fmt.Sprint(port), "--type", "file", "--name", "local", "--rootpath", stateRoot,
		"--config-file", filepath.Join(t.TempDir(), "none.yaml"))
	testserver.StartProcess(t, "heron-tracker", cmd)
	url := fmt.Sprintf("http://%s:%d", testserver.Host, port)
	if err := testserver.WaitHTTP(context.Background(), url+"/clusters", 30*time.Second); err != nil {
		t.Fatalf("heron-tracker: %v", err)
	}
	return url
}

func trackerJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// page drives one tab.
type page struct {
	t   *testing.T
	b   *testserver.Browser
	dir string
}

func newPage(t *testing.T) *page {
	return &page{t: t, b: testserver.StartChromium(t, 1400, 1000, browserLimit), dir: artifacts(t)}
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.b.Ctx, actions...); err != nil {
		p.fail("%s: %v", what, err)
	}
}

func (p *page) navigate(url string) { p.t.Helper(); p.do("navigate "+url, chromedp.Navigate(url)) }

func (p *page) click(css string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("document.querySelector(%q) !== null", css), "element "+css)
	p.do("click "+css, chromedp.Click(chromedp.CSS(css)))
}

func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds; the limit only
// bounds a hung page, it is not what the test checks.
func (p *page) waitFor(cond, what string) {
	p.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("waiting for %s (%s): %v", what, cond, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *page) count(css string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf("document.querySelectorAll(%q).length", css))
}

func (p *page) text(css string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf("(document.querySelector(%q) || {}).textContent || ''", css))
}

func (p *page) location() string {
	return eval[string](p, "location.pathname + location.search + location.hash")
}

// shot saves a full-page PNG as an artifact and returns it.
func (p *page) shot(name string) []byte {
	p.t.Helper()
	png, err := chromedp.Run(p.b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return nil
	}
	path := filepath.Join(p.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Error(err)
	}
	p.t.Logf("screenshot %s", path)
	return png
}

func (p *page) fail(format string, args ...any) {
	p.t.Helper()
	p.shot("failure")
	if errs := p.b.JSErrors(); len(errs) > 0 {
		p.t.Logf("JavaScript errors:\n%s", strings.Join(errs, "\n"))
	}
	p.t.Fatalf(format, args...)
}

func (p *page) noJSErrors() {
	p.t.Helper()
	if errs := p.b.JSErrors(); len(errs) > 0 {
		p.t.Errorf("JavaScript errors:\n%s", strings.Join(errs, "\n"))
	}
}

// saveReadmeShot keeps the top of the topology page (one window) as
// docs/images/topology.png when HERON_UPDATE_SCREENSHOTS=1.
func saveReadmeShot(p *page) {
	t := p.t
	if os.Getenv("HERON_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	p.do("scroll to top", chromedp.Evaluate[chromedp.Void]("window.scrollTo(0, 0)"))
	png, err := chromedp.Run(p.b.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot for the README: %v", err)
	}
	dst := filepath.Join("..", "..", "docs", "images", "topology.png")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated %s", dst)
}

// copyTree copies a state tree so a test can change it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// startStats serves the topology manager's stats protocol (lib/tmstats,
// what heron-executor's topology-manager role serves) with three hours of
// minute metrics and a few exceptions for the fixture topology's instances,
// and points the topology's tmanagers node at it.
func startStats(t *testing.T, root, topology string, instances map[string]string) {
	t.Helper()
	var fake atomic.Int64 // a clock moved by hand while feeding, then real time
	start := time.Now().Add(-3 * time.Hour)
	fake.Store(start.UnixNano()) // the store counts its minutes from its creation
	st := tmstats.New(tmstats.Options{Now: func() time.Time {
		if v := fake.Load(); v != 0 {
			return time.Unix(0, v)
		}
		return time.Now()
	}})
	comps := map[string]bool{"__stmgr__": true}
	for _, c := range instances {
		comps[c] = true
	}
	var names []string
	for c := range comps {
		names = append(names, c)
	}
	st.SetComponents(names)
	ids := make([]string, 0, len(instances))
	for id := range instances {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	i := 0
	for ts := start; time.Since(ts) > 30*time.Second; ts = ts.Add(time.Minute) {
		fake.Store(ts.UnixNano())
		for k, id := range ids {
			comp := instances[id]
			w := math.Abs(math.Sin(float64(i)/40 + float64(k)/2))
			add := func(name string, v float64) { st.Add(comp, id, name, tmstats.FormatValue(v), ts) }
			add("__emit-count/default", 600+900*w)
			add("__execute-count/default", 500+1000*w)
			add("__execute-latency/default", 30e6*w+1e6)
			add("__fail-count/default", 40*w*w)
			add("__jvm-process-cpu-load", 0.4+2*w)
			add("__jvm-memory-used-mb", 200+300*w)
			add("__jvm-memory-mb-total", 512)
			add("__jvm-gc-collection-time-ms", float64(i*(40+k*10)))
			add("__jvm-uptime-secs", float64(i*60))
			st.Add("__stmgr__", "stmgr-1", "__time_spent_back_pressure_by_compid/"+id, tmstats.FormatValue(30000*w*w*w), ts)
		}
		i++
	}
	fake.Store(0)
	for id, comp := range instances {
		st.AddException(&tmanagerpb.TmanagerExceptionLog{
			ComponentName: proto.String(comp), Hostname: proto.String("127.0.0.1"), InstanceId: proto.String(id),
			Stacktrace: proto.String("java.lang.IllegalStateException: word too long\n\tat Exclaim.execute(Exclaim.java:42)"),
			Lasttime:   proto.String("Sat Nov 21 08:00:00 UTC 2026"), Firsttime: proto.String("Sat Nov 21 07:00:00 UTC 2026"),
			Count: proto.Int32(3),
		})
	}
	srv := httptest.NewServer(tmstats.Handler(st, func() ([]string, []string) { return []string{"stmgr-1", "stmgr-2"}, nil }))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	node := filepath.Join(root, "tmanagers", topology)
	b, err := os.ReadFile(node)
	if err != nil {
		t.Fatal(err)
	}
	var loc tmanagerpb.TManagerLocation
	if err := proto.Unmarshal(b, &loc); err != nil {
		t.Fatal(err)
	}
	var p int32
	fmt.Sscan(port, &p)
	loc.Host, loc.StatsPort = proto.String(testserver.Host), proto.Int32(p)
	if b, err = proto.Marshal(&loc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(node, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type plans struct {
	components, streams, containers, instances int
}

// expectedPlans reads what the DAG and the physical plan must show from
// the tracker itself.
func expectedPlans(t *testing.T, tracker, cluster, environ, topology string) plans {
	q := fmt.Sprintf("?cluster=%s&environ=%s&topology=%s", cluster, environ, topology)
	var lp struct {
		Spouts map[string]any `json:"spouts"`
		Bolts  map[string]struct {
			Inputs []any `json:"inputs"`
		} `json:"bolts"`
	}
	trackerJSON(t, tracker+"/topologies/logicalplan"+q, &lp)
	var pp struct {
		Stmgrs    map[string]any `json:"stmgrs"`
		Instances map[string]any `json:"instances"`
	}
	trackerJSON(t, tracker+"/topologies/physicalplan"+q, &pp)
	e := plans{components: len(lp.Spouts) + len(lp.Bolts), containers: len(pp.Stmgrs), instances: len(pp.Instances)}
	for _, b := range lp.Bolts {
		e.streams += len(b.Inputs)
	}
	return e
}

// checkTopologyPage checks the plans against the tracker, then switches the
// colouring metric and window and the tabs.
func checkTopologyPage(p *page, want plans) {
	t := p.t
	t.Helper()
	p.waitFor("document.querySelectorAll('.dag-node').length > 0", "the logical plan")
	p.waitFor("document.querySelectorAll('#physical-plan .pp-container').length > 0", "the physical plan")
	if got := p.count(".dag-node"); got != want.components {
		t.Errorf("DAG has %d nodes, want one per component: %d", got, want.components)
	}
	if got := p.count(".dag-edge"); got != want.streams {
		t.Errorf("DAG has %d edges, want one per stream: %d", got, want.streams)
	}
	if got := p.count("#physical-plan .pp-container"); got != want.containers {
		t.Errorf("physical plan has %d containers, want %d", got, want.containers)
	}
	if got := p.count("#physical-plan .pp-instance"); got != want.instances {
		t.Errorf("physical plan has %d instances, want %d", got, want.instances)
	}
	// Every instance sits in exactly one container box.
	if got := p.count("#physical-plan .pp-container .pp-instance"); got != want.instances {
		t.Errorf("%d instances inside container boxes, want %d", got, want.instances)
	}

	p.click(`button[data-metric="cpu"]`)
	p.click(`button[data-window="1h"]`)
	p.waitFor(`document.querySelector('#physical-plan').dataset.metric === 'cpu' && document.querySelector('#physical-plan').dataset.window === '1h'`, "the plan coloured by CPU over 1 hour")
	if loc := p.location(); !strings.Contains(loc, "metric=cpu") || !strings.Contains(loc, "window=1h") {
		t.Errorf("URL does not keep the choice: %s", loc)
	}
	if c := p.text(`#summary td.cell.active`); c == "" {
		t.Error("summary table has no active cell")
	}
	p.waitFor(`document.querySelector('#colorkey') && document.querySelector('#colorkey').textContent.includes('CPU, 1 hour')`, "the colour key")
	p.click(`button[data-metric="backpressure"]`)
	p.click(`button[data-window="3m"]`)
	p.waitFor(`document.querySelector('#physical-plan').dataset.metric === 'backpressure' && document.querySelector('#physical-plan').dataset.window === '3m'`, "back pressure over 3 min")
	p.waitFor(`document.querySelectorAll('#charts .chart svg').length === 8`, "eight metric charts")
	if got := p.text("#chart-window"); got != "3 min" {
		t.Errorf("charts window %q, want 3 min", got)
	}

	p.click(`button[data-tab="counters"]`)
	p.waitFor(`document.querySelector('#counters-table') || document.querySelector('#counters .error-box')`, "the counters")
	p.click(`button[data-tab="config"]`)
	p.waitFor(`document.querySelectorAll('#config .config-row').length > 0`, "the config table")
	p.click(`button[data-tab="exceptions"]`)
	p.waitFor(`document.querySelector('#exception-summary') || document.querySelector('#exceptions .error-box')`, "the exceptions")
	p.click(`button[data-tab="stats"]`)
}

// The topology Heron wrote (committed fixture state) through our tracker:
// every page loads, the plans match, metric and window switch, and the page
// says so clearly when the topology disappears.
func TestBrowserFixtureState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	copyTree(t, filepath.Join("testdata", "heron-state"), state)
	root := filepath.Join(state, "local")
	startStats(t, root, "ExclamationTopology", map[string]string{
		"container_1_word_1": "word", "container_2_word_2": "word", "container_1_exclaim1_3": "exclaim1",
		"container_2_exclaim1_4": "exclaim1", "container_1_exclaim2_5": "exclaim2", "container_2_exclaim2_6": "exclaim2",
	})
	tracker := startTracker(t, root)
	base := startUI(t, tracker)
	want := expectedPlans(t, tracker, "local", "default", "ExclamationTopology")
	if want.components != 3 || want.streams != 2 || want.containers != 2 || want.instances != 6 {
		t.Fatalf("tracker shows an unexpected fixture topology: %+v", want)
	}

	p := newPage(t)
	p.navigate(base + "/")
	p.waitFor(`document.querySelectorAll('#topologies .topology-row').length === 1`, "the topology list")
	if got := p.text(`#topologies .topology-row td:nth-child(6)`); got != "6" {
		t.Errorf("instances column %q, want 6", got)
	}
	p.shot("01-list")
	// Filters narrow the list and live in the URL.
	p.do("filter", chromedp.SendKeys(chromedp.ID("filter"), "nosuchtopology"))
	p.waitFor(`document.querySelectorAll('#topologies .topology-row').length === 0`, "the filter to hide the row")
	if !strings.Contains(p.location(), "q=nosuchtopology") {
		t.Errorf("filter not in URL: %s", p.location())
	}
	p.navigate(base + "/topologies?cluster=local&status=Running")
	p.waitFor(`document.querySelectorAll('#topologies .topology-row').length === 1`, "the filtered list")

	p.click(`#topologies a.topology-link`)
	p.waitFor(`location.pathname === '/topologies/local/default/ExclamationTopology'`, "the topology page")
	checkTopologyPage(p, want)
	p.waitFor(`document.querySelector('#job-page')`, "the scheduler's job page link")
	// With the topology manager's metrics, every instance gets a colour.
	p.click(`button[data-metric="capacity"]`)
	p.click(`button[data-window="1h"]`)
	p.waitFor(`[...document.querySelectorAll('#physical-plan .pp-instance')].every(e => e.dataset.value !== '' && e.dataset.value !== undefined)`, "capacity values for every instance")
	if got := p.text(`#summary td.cell.active`); got == "" || strings.Contains(got, "–") {
		t.Errorf("summary cell for capacity over 1 hour: %q", got)
	}
	p.waitFor(`document.querySelectorAll('#charts .chart polyline').length >= 3`, "chart lines")
	p.shot("02-topology")
	p.click(`button[data-tab="exceptions"]`)
	p.waitFor(`document.querySelectorAll('#exception-list .exception-row').length === 6`, "one exception row per instance")
	if s := p.text("#exception-summary"); !strings.Contains(s, "java.lang.IllegalStateException") || !strings.Contains(s, "18") {
		t.Errorf("exception summary: %q", s)
	}
	p.click(`button[data-tab="counters"]`)
	p.waitFor(`document.querySelectorAll('#counters-table .counter-row').length === 3`, "the counters table")
	p.click(`button[data-tab="stats"]`)

	// Per component and per instance views.
	p.click(`.dag-node[data-component="exclaim1"]`)
	p.waitFor(`(document.querySelector('#focus-component') || {}).textContent === 'bolt exclaim1'`, "the component focus")
	if got := p.count("#physical-plan .pp-instance:not(.faded)"); got != 2 {
		t.Errorf("%d instances in focus, want exclaim1's 2", got)
	}
	p.click(`.pp-instance[data-instance="container_2_exclaim1_4"]`)
	p.waitFor(`(document.querySelector('#focus-instance') || {}).textContent === 'instance container_2_exclaim1_4'`, "the instance focus")
	p.shot("03-focus")
	p.click(`#focus a.instance-link`)
	p.waitFor(`document.querySelector('#action-pid')`, "the instance page")
	p.click(`#action-pid`)
	// The fixture's shells do not run: the report must say why, not hang.
	p.waitFor(`document.querySelector('#report .error-box, #report pre.report')`, "the pid report")
	p.shot("04-instance")

	p.navigate(base + "/topologies/local/default/ExclamationTopology")
	p.click(`a.container-link`)
	p.waitFor(`document.querySelectorAll('#container-instances tbody tr').length === 3`, "the container page")
	p.waitFor(`document.querySelector('#container-files .error-box, #files')`, "the file browser")
	p.shot("05-container")
	p.click(`#container-instances a.log-link`)
	p.waitFor(`document.querySelector('#log, .error-box')`, "the log page")
	p.navigate(base + "/topologies/local/default/ExclamationTopology/All/All/exceptions")
	p.waitFor(`document.querySelector('#exception-summary') || document.querySelector('#exceptions .error-box')`, "the exceptions page")
	p.navigate(base + "/topologies/local/default/ExclamationTopology/config")
	p.waitFor(`document.querySelectorAll('#config .config-row').length > 0`, "the config page")

	// The topology disappears while its page is open.
	p.navigate(base + "/topologies/local/default/ExclamationTopology")
	p.waitFor("document.querySelectorAll('.dag-node').length === 3", "the topology page")
	for _, kind := range []string{"topologies", "pplans", "packingplans", "executionstate", "tmanagers", "schedulers"} {
		if err := os.Remove(filepath.Join(root, kind, "ExclamationTopology")); err != nil {
			t.Fatal(err)
		}
	}
	p.waitFor(`!document.querySelector('#topology-gone').hidden`, "the topology-gone message")
	msg := p.text("#topology-gone")
	if !strings.Contains(msg, "ExclamationTopology is gone") {
		t.Errorf("gone message: %q", msg)
	}
	if got := p.text("#topology-status"); got != "Gone" {
		t.Errorf("status badge %q, want Gone", got)
	}
	p.shot("06-gone")
	p.navigate(base + "/topologies")
	p.waitFor(`document.querySelector('#topologies tbody td.muted')`, "an empty list")
	p.noJSErrors()
}

// A 24-component DAG stays readable: one node per component, one edge per
// stream, layers left to right, no overlapping nodes and few crossings.
func TestBrowserLargeDAG(t *testing.T) {
	base := startUI(t, "http://127.0.0.1:1")
	p := newPage(t)
	p.navigate(base + "/no-such-page")
	p.waitFor("window.heronUI", "the app")
	res := eval[map[string]float64](p, `(() => {
	  // 4 spouts feeding 20 bolts in 5 stages, with skip edges and a fan-in.
	  const lp = {spouts: {}, bolts: {}};
	  const names = [];
	  for (let i = 0; i < 4; i++) { const n = 'source-' + i; lp.spouts[n] = {config: {'topology.component.parallelism': '2'}, outputs: [{stream_name: 'default'}]}; names.push(n); }
	  const G = ['SHUFFLE', 'FIELDS', 'ALL', 'LOWEST'];
	  let streams = 0;
	  for (let i = 0; i < 20; i++) {
	    const stage = Math.floor(i / 4) + 1, n = 'bolt-stage' + stage + '-' + i;
	    const prev = stage === 1 ? names.slice(0, 4) : names.filter(x => x.startsWith('bolt-stage' + (stage - 1) + '-'));
	    const inputs = [{component_name: prev[i % prev.length], stream_name: 'default', grouping: G[i % 4]}];
	    if (i % 3 === 0) inputs.push({component_name: prev[(i + 1) % prev.length], stream_name: 'side', grouping: 'FIELDS'});
	    if (stage >= 3 && i % 5 === 0) inputs.push({component_name: names[i % 4], stream_name: 'default', grouping: 'SHUFFLE'});
	    streams += inputs.length;
	    lp.bolts[n] = {config: {'topology.component.parallelism': '3'}, inputs, outputs: [{stream_name: 'default'}], inputComponents: inputs.map(x => x.component_name)};
	    names.push(n);
	  }
	  const d = heronUI.drawDAG(lp, heronUI.componentColors(names), () => {});
	  document.body.innerHTML = '';
	  document.body.append(d.svg, d.legend);
	  const boxes = [...document.querySelectorAll('.dag-node')].map(n => n.getBoundingClientRect());
	  let overlaps = 0;
	  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
	    const a = boxes[i], b = boxes[j];
	    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps++;
	  }
	  const x = c => document.querySelector('.dag-node[data-component="' + c + '"]').getBoundingClientRect().left;
	  let backwards = 0;
	  for (const e of document.querySelectorAll('.dag-edge')) if (x(e.dataset.to) <= x(e.dataset.from)) backwards++;
	  return {nodes: document.querySelectorAll('.dag-node').length, edges: document.querySelectorAll('.dag-edge').length,
	    streams, components: names.length, overlaps, backwards, crossings: Number(d.svg.dataset.crossings)};
	})()`)
	p.shot("large-dag")
	if res["nodes"] != 24 || res["nodes"] != res["components"] {
		t.Errorf("nodes %v, components %v", res["nodes"], res["components"])
	}
	if res["edges"] != res["streams"] {
		t.Errorf("edges %v, streams %v", res["edges"], res["streams"])
	}
	if res["overlaps"] != 0 || res["backwards"] != 0 {
		t.Errorf("overlapping nodes %v, backward edges %v", res["overlaps"], res["backwards"])
	}
	t.Logf("24-component DAG: %v edges, %v crossings after barycentric ordering", res["edges"], res["crossings"])
	p.noJSErrors()
}

// The word-count example (examples/wordcount) submitted with heron-submit
// to the local cluster, run by heron-executor and followed by the real
// heron-tracker: click through list → topology → container → log, check
// the plans against the YAML, switch metric and window, watch the instance
// log grow, then kill the topology with its page open. The spout's stdout
// is also copied to its stderr (its instance log): the example's instances
// log nothing. With HERON_UPDATE_SCREENSHOTS=1 the topology page becomes
// docs/images/topology.png.
func TestBrowserRunningTopology(t *testing.T) {
	submit := binary(t, "heron-submit")
	binary(t, "heron-executor")
	binary(t, "heron-tracker")
	wc := testserver.SubmitWordCount(t, testserver.WordCountOptions{HeronSubmit: submit,
		SpoutWrap: "%s | tee /dev/stderr", Properties: []string{"heron.metrics.export.interval.sec=2"}})

	tracker := startTracker(t, wc.StateRoot())
	topo := "?cluster=local&environ=default&topology=WordCount"
	if err := testserver.Poll(context.Background(), 60*time.Second, func() error {
		var es struct {
			Status string `json:"status"`
		}
		var pp struct {
			Instances map[string]any `json:"instances"`
		}
		for u, out := range map[string]any{"/topologies/executionstate": &es, "/topologies/physicalplan": &pp} {
			resp, err := http.Get(tracker + u + topo)
			if err != nil {
				return err
			}
			err = json.NewDecoder(resp.Body).Decode(out)
			resp.Body.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", u, err)
			}
		}
		if es.Status != "Running" || len(pp.Instances) != 6 {
			return fmt.Errorf("status %q with %d instances", es.Status, len(pp.Instances))
		}
		return nil
	}); err != nil {
		t.Fatalf("the topology never ran: %v", err)
	}
	want := expectedPlans(t, tracker, "local", "default", "WordCount")
	// examples/wordcount/wordcount.yaml: 3 components, 2 streams,
	// topology.stmgrs 2, parallelism 2 each.
	if want != (plans{components: 3, streams: 2, containers: 2, instances: 6}) {
		t.Fatalf("the tracker shows a word count unlike the YAML: %+v", want)
	}
	// minutes reports whether the topology manager holds a non-zero value
	// of a component's metric in the minute being filled, and in a
	// completed minute (the page shows only completed ones).
	minutes := func(component, metric string) (current, completed bool, err error) {
		now := time.Now().Unix()
		resp, err := http.Get(fmt.Sprintf("%s/topologies/metrics/timeline%s&component=%s&metricname=%s&starttime=%d&endtime=%d",
			tracker, topo, component, metric, now-600, now))
		if err != nil {
			return false, false, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var tl struct {
			Timeline map[string]map[string]map[string]float64 `json:"timeline"`
		}
		if err := json.Unmarshal(b, &tl); err != nil || resp.StatusCode != 200 {
			return false, false, fmt.Errorf("timeline of %s %s: %d %v: %.300s", component, metric, resp.StatusCode, err, b)
		}
		for _, buckets := range tl.Timeline[metric] {
			for ts, v := range buckets {
				start, _ := strconv.ParseInt(ts, 10, 64)
				if v > 0 && start < now/60*60 {
					completed = true
				} else if v > 0 {
					current = true
				}
			}
		}
		return current, completed, nil
	}
	// Metrics flow: the executors export every 2 s to the topology manager.
	for _, m := range [][2]string{{"sentences", "__emit-count/default"}, {"count", "__execute-count/default"}} {
		if err := testserver.Poll(context.Background(), 60*time.Second, func() error {
			cur, done, err := minutes(m[0], m[1])
			if err == nil && !cur && !done {
				err = fmt.Errorf("no %s of %s in the topology manager yet", m[1], m[0])
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	base := startUI(t, tracker)

	p := newPage(t)
	p.navigate(base + "/topologies")
	p.waitFor(`document.querySelector('#topologies .topology-row[data-name="WordCount"]')`, "the topology in the list")
	if got := p.text(`#topologies .topology-row[data-name="WordCount"] td:nth-child(6)`); got != "6" {
		t.Errorf("instances column %q, want 6", got)
	}
	p.shot("01-list")
	p.click(`#topologies .topology-row[data-name="WordCount"] a.topology-link`)
	p.waitFor(`location.pathname === '/topologies/local/default/WordCount'`, "the topology page")
	checkTopologyPage(p, want)
	for _, c := range []string{"sentences", "split", "count"} {
		if p.count(fmt.Sprintf(`.dag-node[data-component=%q]`, c)) != 1 {
			t.Errorf("the DAG has no single node for %s", c)
		}
	}
	for _, e := range [][2]string{{"sentences", "split"}, {"split", "count"}} {
		if p.count(fmt.Sprintf(`.dag-edge[data-from=%q][data-to=%q]`, e[0], e[1])) != 1 {
			t.Errorf("the DAG has no single edge %s → %s", e[0], e[1])
		}
	}
	for _, c := range []string{"stmgr-1", "stmgr-2"} {
		if got := p.count(fmt.Sprintf(`#physical-plan .pp-container[data-container=%q] .pp-instance`, c)); got != 3 {
			t.Errorf("container %s shows %d instances, want 3", c, got)
		}
	}
	p.click(`button[data-metric="emits"]`)
	p.click(`button[data-window="3m"]`)
	p.waitFor(`document.querySelector('#physical-plan').dataset.metric === 'emits' && document.querySelector('#physical-plan').dataset.window === '3m'`, "emits over 3 min")
	if loc := p.location(); !strings.Contains(loc, "metric=emits") || !strings.Contains(loc, "window=3m") {
		t.Errorf("URL does not keep the choice: %s", loc)
	}
	p.click(`button[data-window="10m"]`)
	p.click(`button[data-metric="executes"]`)
	p.waitFor(`document.querySelector('#physical-plan').dataset.metric === 'executes' && document.querySelector('#physical-plan').dataset.window === '10m'`, "executes over 10 min")
	p.waitFor(`document.querySelector('#colorkey') && document.querySelector('#colorkey').textContent.includes('Executes/min, 10 min')`, "the colour key")
	if os.Getenv("HERON_UPDATE_SCREENSHOTS") == "1" {
		// The page leaves out the minute being filled: for the README the
		// shot waits for a completed minute (up to a minute more).
		if err := testserver.Poll(context.Background(), 90*time.Second, func() error {
			for _, m := range [][2]string{{"sentences", "__emit-count/default"}, {"count", "__execute-count/default"}} {
				if _, done, err := minutes(m[0], m[1]); err != nil || !done {
					return fmt.Errorf("no completed minute of %s %s yet (%v)", m[0], m[1], err)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		p.click("#refresh")
		p.waitFor(`/[1-9]/.test((document.querySelector('#summary td.cell.active') || {}).textContent || '')`, "executes in the summary")
		p.waitFor(`[...document.querySelectorAll('#physical-plan .pp-instance[data-component="count"]')].every(e => Number(e.dataset.value) > 0)`, "executes of the count instances")
		p.waitFor(`document.querySelectorAll('#charts .chart polyline').length > 0`, "a chart line")
	}
	p.shot("02-topology")
	saveReadmeShot(p)

	// Container 1 → its files → the spout's log, tailed live.
	p.click(`#physical-plan .pp-container[data-container="stmgr-1"] a.container-link`)
	p.waitFor(`location.pathname === '/topologies/local/default/WordCount/containers/1'`, "the container page")
	p.waitFor(`document.querySelectorAll('#container-instances tbody tr').length === 3`, "the container's instances")
	p.waitFor(`document.querySelector('#files tr.file-row[data-name="log-files"]')`, "the container's files")
	p.shot("03-container")
	p.click(`#container-instances tr[data-instance^="container_1_sentences_"] a.log-link`)
	p.waitFor(`document.querySelector('#log') && document.querySelector('#log').textContent.includes('the cow jumped over the moon\n')`, "the spout's log lines")
	before := len(p.text("#log"))
	p.waitFor(fmt.Sprintf(`document.querySelector('#log').textContent.length > %d`, before), "the log to grow while tailed")
	if lines := strings.Split(strings.TrimSpace(p.text("#log")), "\n"); !strings.Contains(strings.Join(lines, "\n"), "an apple a day keeps the doctor away") {
		t.Errorf("the log does not show the spout's sentences: %.300q", lines)
	}
	p.shot("04-log")
	if href := eval[string](p, `document.querySelector('#log-download').href`); !strings.Contains(href, "/api/tracker/topologies/container/filedownload?") {
		t.Errorf("download link %s", href)
	}

	// Killed while its page is open: the page says so, and nothing of it
	// is left running.
	p.navigate(base + "/topologies/local/default/WordCount")
	p.waitFor("document.querySelectorAll('.dag-node').length === 3", "the topology page")
	if err := wc.Kill(); err != nil {
		t.Fatal(err)
	}
	p.waitFor(`!document.querySelector('#topology-gone').hidden`, "the topology-gone message")
	if msg := p.text("#topology-gone"); !strings.Contains(msg, "WordCount is gone") {
		t.Errorf("gone message: %q", msg)
	}
	if got := p.text("#topology-status"); got != "Gone" {
		t.Errorf("status badge %q, want Gone", got)
	}
	p.shot("05-gone")
	testserver.NoProcsUnder(t, wc.Home)
	p.noJSErrors()
}
