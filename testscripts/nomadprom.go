package testscripts

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/testserver"
)

func init() {
	commands["nomadprom"] = cmdNomadProm
	setups = append(setups, func(_ *testing.T, e *testscript.Env) error {
		e.Values[nomadPromKey{}] = &nomadProm{}
		return nil
	})
	// [prometheus-nomad]: the Prometheus built with Nomad service discovery
	// (.ci/servers/prometheus-nomad.sh) is there; present under CI=true even
	// when missing, so that starting it fails the script instead of
	// skipping it.
	conditions["prometheus-nomad"] = func() (bool, error) {
		_, err := os.Stat(testserver.PrometheusNomadBinary())
		return err == nil || testserver.InCI(), nil
	}
}

// nomadPromDefaultServer is the Nomad address the documented configuration
// names; the script's copy points at the test's agent instead.
const nomadPromDefaultServer = "server: http://127.0.0.1:4646"

// nomadPromJob is the scrape job of the documented configuration.
const nomadPromJob = "heron"

type nomadPromKey struct{}

// nomadProm is the Prometheus one script started.
type nomadProm struct{ p *testserver.Prometheus }

// cmdNomadProm checks that Prometheus finds a topology's containers through
// Nomad's service discovery:
//
//	nomadprom documented FILE          FILE's scrape_configs appear verbatim in docs/nomad.md
//	nomadprom start FILE               start Prometheus with FILE, its Nomad server set to $NOMAD_ADDR
//	nomadprom targets TOPOLOGY N       wait until the heron job has exactly N targets, container 0..N-1 of
//	                                   TOPOLOGY, each scraped "up" at the address Nomad registered
//	nomadprom query PROMQL N           wait until the query returns N series; prints them, one JSON line each
func cmdNomadProm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: nomadprom documented|start|targets|query ...")
	}
	st := ts.Value(nomadPromKey{}).(*nomadProm)
	switch args[0] {
	case "documented":
		if len(args) != 2 {
			ts.Fatalf("usage: nomadprom documented FILE")
		}
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		i := strings.Index(string(b), "scrape_configs:")
		if i < 0 {
			ts.Fatalf("nomadprom: %s has no scrape_configs", args[1])
		}
		doc, err := os.ReadFile(filepath.Join("..", "docs", "nomad.md"))
		ts.Check(err)
		if !strings.Contains(string(doc), string(b[i:])) {
			ts.Fatalf("nomadprom: docs/nomad.md does not show the tested configuration; copy in:\n%s", b[i:])
		}
	case "start":
		if len(args) != 2 {
			ts.Fatalf("usage: nomadprom start FILE")
		}
		addr := ts.Getenv("NOMAD_ADDR")
		if addr == "" {
			ts.Fatalf("nomadprom: no agent; run nomad start first")
		}
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		if !strings.Contains(string(b), nomadPromDefaultServer) {
			ts.Fatalf("nomadprom: %s does not name %q", args[1], nomadPromDefaultServer)
		}
		cfg := strings.ReplaceAll(string(b), nomadPromDefaultServer, "server: "+addr)
		st.p = testserver.StartPrometheusNomad(&scriptTB{ts: ts}, cfg)
		ts.Setenv("PROMETHEUS_URL", st.p.URL)
	case "targets":
		if len(args) != 3 {
			ts.Fatalf("usage: nomadprom targets TOPOLOGY N")
		}
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		st.targets(ts, args[1], n)
	case "query":
		if len(args) != 3 {
			ts.Fatalf("usage: nomadprom query PROMQL N")
		}
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		st.query(ts, args[1], n)
	default:
		ts.Fatalf("nomadprom: unknown subcommand %q", args[0])
	}
}

func (st *nomadProm) prom(ts *testscript.TestScript) *testserver.Prometheus {
	if st.p == nil {
		ts.Fatalf("nomadprom: no Prometheus; run nomadprom start first")
	}
	return st.p
}

// promTargetsTimeout bounds discovery (refresh 1 s) plus the first scrape
// (about 5 s after a target appears in Prometheus 2.42).
const promTargetsTimeout = 60 * time.Second

func (st *nomadProm) targets(ts *testscript.TestScript, topology string, n int) {
	p := st.prom(ts)
	nomad := &nomadAPI{base: ts.Getenv("NOMAD_ADDR")}
	var last []testserver.PromActiveTarget
	err := testserver.Poll(context.Background(), promTargetsTimeout, func() error {
		all, err := p.ActiveTargets(context.Background())
		if err != nil {
			return err
		}
		last = last[:0]
		for _, tg := range all {
			if tg.ScrapePool == nomadPromJob {
				last = append(last, tg)
			}
		}
		if len(last) != n {
			return fmt.Errorf("%d targets, want %d", len(last), n)
		}
		var seen []string
		for _, tg := range last {
			if tg.Labels["topology"] != topology {
				return fmt.Errorf("target %s has topology %q", tg.ScrapeURL, tg.Labels["topology"])
			}
			c := tg.Labels["container"]
			seen = append(seen, c)
			if tg.Health != "up" {
				return fmt.Errorf("container %s (%s) is %q %s", c, tg.ScrapeURL, tg.Health, tg.LastError)
			}
			// Scraped where Nomad says the container's metrics port is.
			var regs []struct {
				Address string
				Port    int
			}
			if err := nomad.get("/v1/service/metrics-heron-"+topology+"-"+c, &regs); err != nil {
				return err
			}
			if len(regs) != 1 {
				return fmt.Errorf("service of container %s: %d registrations", c, len(regs))
			}
			if want := "http://" + regs[0].Address + ":" + strconv.Itoa(regs[0].Port) + "/metrics"; tg.ScrapeURL != want {
				return fmt.Errorf("container %s scraped at %s, registered at %s", c, tg.ScrapeURL, want)
			}
		}
		slices.SortFunc(seen, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
		for i, c := range seen {
			if c != strconv.Itoa(i) {
				return fmt.Errorf("containers %v, want 0..%d", seen, n-1)
			}
		}
		return nil
	})
	if err != nil {
		var b strings.Builder
		for _, tg := range last {
			fmt.Fprintf(&b, "\n  %s %s %v (discovered %v)", tg.ScrapeURL, tg.Health, tg.Labels, tg.DiscoveredLabels)
		}
		ts.Fatalf("nomadprom: waiting for %d targets of %s: %v%s\n%s", n, topology, err, b.String(), p.Tail(20))
	}
	for _, tg := range last {
		ts.Logf("target %s %s %v", tg.ScrapeURL, tg.Health, tg.Labels)
	}
}

func (st *nomadProm) query(ts *testscript.TestScript, q string, n int) {
	p := st.prom(ts)
	var got []testserver.PromSample
	err := testserver.Poll(context.Background(), promTargetsTimeout, func() error {
		res, err := p.Query(context.Background(), q)
		if err != nil {
			return err
		}
		got = res
		if len(res) != n {
			return fmt.Errorf("%d series, want %d", len(res), n)
		}
		return nil
	})
	if err != nil {
		ts.Fatalf("nomadprom: query %s: %v (last: %v)", q, err, got)
	}
	slices.SortFunc(got, func(a, b testserver.PromSample) int {
		return strings.Compare(fmt.Sprint(a.Labels), fmt.Sprint(b.Labels))
	})
	for _, s := range got {
		b, err := json.Marshal(map[string]any{"labels": s.Labels, "value": s.Value})
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%s\n", b)
	}
}
