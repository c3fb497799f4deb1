package trackerapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/tmstats"
	"github.com/heronkit/heronkit/lib/tracker"
)

const (
	loadTopologies = 100
	loadInstances  = 50
	loadConns      = 64
	loadDuration   = 2 * time.Second
)

// loadState writes 100 topologies of 50 instances with our writers, each
// pointing at one real stats server holding a minute of metrics.
func loadState(b testing.TB) (root string) {
	root = b.TempDir()
	ctx := context.Background()
	st, err := statemgr.Open(ctx, "file://"+root, statemgr.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	stats := tmstats.New(tmstats.Options{})
	for i := 1; i <= loadInstances; i++ {
		comp := "spout"
		if i > (loadInstances+1)/2 {
			comp = "bolt"
		}
		c := (i + 1) / 2
		id := fmt.Sprintf("container_%d_%s_%d", c, comp, i)
		stats.Add(comp, id, "__emit-count/default", "100", time.Time{})
		stats.Add(comp, id, "__execute-latency/default", "1500000", time.Time{})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: tmstats.Handler(stats, nil)}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	c := nodes.Client{Store: st}
	for t := 0; t < loadTopologies; t++ {
		name := fmt.Sprintf("Topology%03d", t)
		must := func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}
		must(c.Set(ctx, statemgr.Topologies, name, &apipb.Topology{Id: proto.String(name + "-id"), Name: proto.String(name), State: apipb.TopologyState_RUNNING.Enum()}))
		must(c.Set(ctx, statemgr.ExecutionState, name, &systempb.ExecutionState{TopologyName: proto.String(name), TopologyId: proto.String(name + "-id"),
			SubmissionTime: proto.Int64(1700000000), SubmissionUser: proto.String("streamer"), Cluster: proto.String("local"),
			Environ: proto.String("default"), Role: proto.String("streamer")}))
		must(c.Set(ctx, statemgr.PhysicalPlans, name, tracker.SyntheticPhysicalPlan(name, loadInstances)))
		must(c.Set(ctx, statemgr.TManagers, name, &tmanagerpb.TManagerLocation{TopologyName: proto.String(name), TopologyId: proto.String(name + "-id"),
			Host: proto.String("127.0.0.1"), ControllerPort: proto.Int32(1), ServerPort: proto.Int32(2), StatsPort: proto.Int32(int32(port))}))
	}
	return root
}

type loadResult struct {
	name     string
	requests int
	errors   int
	rps      float64
	p50, p99 time.Duration
}

// load GETs urls from 64 keep-alive connections for d and measures.
func load(name string, urls []string, d time.Duration) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: loadConns, MaxConnsPerHost: loadConns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var all []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < loadConns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<14)
			bad := 0
			for i := w; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				res, err := client.Get(urls[i%len(urls)])
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					bad++
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := loadResult{name: name, requests: len(all), errors: errs, rps: float64(len(all)) / elapsed.Seconds()}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	return r
}

func rssKB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	return 0
}

// startBinary runs bin/heron-tracker (make bench builds it) so that its
// RSS is the tracker's alone; it returns the base URL and pid.
func startBinary(b *testing.B, root string) (string, int, func()) {
	bin, err := exec.LookPath("heron-tracker")
	if err != nil {
		return "", 0, nil
	}
	cmd := exec.Command(bin, "--config-file", filepath.Join(root, "none.yaml"), "--type", "file", "--name", "local",
		"--rootpath", root, "--bind", "127.0.0.1", "--port", "0", "--log-level", "warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		b.Fatalf("heron-tracker did not start: %v", err)
	}
	var l struct{ URL string }
	_ = json.Unmarshal([]byte(line), &l)
	return l.URL, cmd.Process.Pid, stop
}

// BenchmarkTrackerLoad is the load run of `make bench`: 100 topologies of 50
// instances, 64 concurrent connections, 2 s per endpoint; it prints
// requests/s, p50 and p99 per endpoint and the tracker's RSS.
func BenchmarkTrackerLoad(b *testing.B) {
	if b.N > 1 {
		b.Skip("one load run is enough")
	}
	root := loadState(b)
	base, pid, stop := startBinary(b, root)
	where := "bin/heron-tracker (separate process)"
	if stop != nil {
		defer stop()
	} else {
		r := startTracker(b, fixtureConfig(root))
		base, pid = r.srv.URL, os.Getpid()
		where = "in-process (heron-tracker not on PATH: RSS includes the load generator)"
	}
	// Wait until every topology is listed.
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(base + "/topologies")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Count(string(body), "Topology") == loadTopologies {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatal("tracker did not list all topologies in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var urls = map[string][]string{}
	for t := 0; t < loadTopologies; t++ {
		q := fmt.Sprintf("cluster=local&environ=default&topology=Topology%03d", t)
		urls["physicalplan"] = append(urls["physicalplan"], base+"/topologies/physicalplan?"+q)
		urls["logicalplan"] = append(urls["logicalplan"], base+"/topologies/logicalplan?"+q)
		urls["metrics"] = append(urls["metrics"], base+"/topologies/metrics?"+q+"&component=bolt&metricname=__emit-count/default&metricname=__execute-latency/default&interval=600")
	}
	urls["topologies"] = []string{base + "/topologies"}
	idle := rssKB(pid)
	b.ResetTimer()
	fmt.Printf("\nheron-tracker load: %d topologies x %d instances, %d connections, %s per endpoint, %s\n",
		loadTopologies, loadInstances, loadConns, loadDuration, where)
	fmt.Printf("%-14s %10s %8s %10s %10s\n", "endpoint", "req/s", "errors", "p50", "p99")
	for _, name := range []string{"topologies", "physicalplan", "logicalplan", "metrics"} {
		r := load(name, urls[name], loadDuration)
		fmt.Printf("%-14s %10.0f %8d %10s %10s\n", name, r.rps, r.errors, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
		b.ReportMetric(r.rps, name+"-req/s")
		b.ReportMetric(float64(r.p99.Microseconds()), name+"-p99-µs")
		if r.errors > 0 {
			b.Errorf("%s: %d failed requests", name, r.errors)
		}
	}
	rss := rssKB(pid)
	fmt.Printf("RSS: %.1f MB idle with every topology loaded, %.1f MB after the load\n", float64(idle)/1024, float64(rss)/1024)
	b.ReportMetric(float64(rss)/1024, "RSS-MB")
}

// BenchmarkPhysicalPlanHandler is the cost of one answer without the network.
func BenchmarkPhysicalPlanHandler(b *testing.B) {
	root := copyTree(b, filepath.Join("..", "tracker", "testdata", "heron-state", "local"))
	r := startTracker(b, fixtureConfig(root))
	h := New(r.tr, Options{})
	req := httptest.NewRequest("GET", "/topologies/physicalplan?cluster=local&environ=default&topology=ExclamationTopology", nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	})
}
