package testserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// prometheusReadyTimeout bounds the server's start (0.15 s measured).
const prometheusReadyTimeout = 30 * time.Second

// Prometheus is a Prometheus server (Debian prometheus) scraping the given
// targets every second, with its storage in the test's temp dir.
type Prometheus struct {
	t    testing.TB
	URL  string
	proc *Process
}

// PromTarget is one scrape target.
type PromTarget struct {
	Addr string // host:port
	Path string // metrics path, "/metrics" when empty
}

// StartPrometheus starts Prometheus scraping targets and stops it when the
// test ends. A missing prometheus skips the test (fails it when CI=true).
func StartPrometheus(t testing.TB, targets ...PromTarget) *Prometheus {
	t.Helper()
	var jobs strings.Builder
	for i, tg := range targets {
		path := tg.Path
		if path == "" {
			path = "/metrics"
		}
		fmt.Fprintf(&jobs, "  - job_name: target%d\n    metrics_path: %q\n    static_configs: [{targets: [%q]}]\n", i, path, tg.Addr)
	}
	cfg := "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n" + jobs.String()
	if len(targets) == 0 {
		cfg = "global: {scrape_interval: 1s}\n"
	}
	return StartPrometheusConfig(t, cfg)
}

// StartPrometheusConfig starts Prometheus with the given configuration
// file text and stops it when the test ends. A missing prometheus skips the
// test (fails it when CI=true).
func StartPrometheusConfig(t testing.TB, cfg string) *Prometheus {
	t.Helper()
	return startPrometheus(t, Require(t, "prometheus"), cfg)
}

// PrometheusNomadVersion is the Prometheus module version (3.9.1)
// .ci/servers/prometheus-nomad.sh builds. Keep the two in step.
const PrometheusNomadVersion = "v0.309.1"

// PrometheusNomadBinaryEnv names a Prometheus binary with Nomad service
// discovery to use instead of the cached build.
const PrometheusNomadBinaryEnv = "HERON_PROMETHEUS_NOMAD"

// PrometheusNomadBinary is where .ci/servers/prometheus-nomad.sh leaves a
// Prometheus with nomad_sd_configs, which Debian's package lacks: a cache
// dir that outlives the work tree, as for Nomad.
func PrometheusNomadBinary() string {
	if p := os.Getenv(PrometheusNomadBinaryEnv); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "heronkit", "servers", "prometheus-nomad-"+PrometheusNomadVersion, "prometheus")
}

// StartPrometheusNomad starts the Prometheus built with Nomad service
// discovery with the given configuration file text, and stops it when the
// test ends. A missing build skips the test (fails it when CI=true).
func StartPrometheusNomad(t testing.TB, cfg string) *Prometheus {
	t.Helper()
	bin := PrometheusNomadBinary()
	if _, err := os.Stat(bin); err != nil {
		Missing(t, "Prometheus with Nomad service discovery "+bin,
			"run .ci/servers/prometheus-nomad.sh to build it, or set "+PrometheusNomadBinaryEnv)
	}
	return startPrometheus(t, bin, cfg)
}

func startPrometheus(t testing.TB, bin, cfg string) *Prometheus {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := Host + ":" + strconv.Itoa(FreePort(t))
	p := &Prometheus{t: t, URL: "http://" + addr}
	p.proc = StartProcess(t, "prometheus", exec.Command(bin,
		"--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr))
	err := Poll(context.Background(), prometheusReadyTimeout, func() error {
		if !p.proc.Running() {
			return ErrExited
		}
		return WaitHTTP(context.Background(), p.URL+"/-/ready", time.Second)
	})
	if err != nil {
		t.Fatalf("prometheus did not start: %v\n%s", err, p.proc.Tail(30))
	}
	return p
}

// PromSample is one element of an instant query's vector.
type PromSample struct {
	Labels map[string]string
	Value  float64
}

// Query runs an instant PromQL query.
func (p *Prometheus) Query(ctx context.Context, q string) ([]PromSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("query %q: %w: %s", q, err, body)
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, res.Error)
	}
	out := make([]PromSample, 0, len(res.Data.Result))
	for _, r := range res.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", q, r.Value[1], err)
		}
		out = append(out, PromSample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// WaitQuery polls a query until it returns something. Prometheus 2.42 takes
// about 6 s to scrape a new target for the first time.
func (p *Prometheus) WaitQuery(q string, timeout time.Duration) ([]PromSample, error) {
	var out []PromSample
	err := Poll(context.Background(), timeout, func() error {
		res, err := p.Query(context.Background(), q)
		if err != nil {
			return err
		}
		if len(res) == 0 {
			return fmt.Errorf("query %q returned nothing yet", q)
		}
		out = res
		return nil
	})
	return out, err
}

// MetricType returns the type Prometheus learned for a metric from its
// targets' TYPE lines ("counter", "gauge", ...), or "" when it has none yet.
func (p *Prometheus) MetricType(ctx context.Context, metric string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/metadata?metric="+url.QueryEscape(metric), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var res struct {
		Status string `json:"status"`
		Data   map[string][]struct {
			Type string `json:"type"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return "", fmt.Errorf("metadata %q: %w", metric, err)
	}
	if md := res.Data[metric]; len(md) > 0 {
		return md[0].Type, nil
	}
	return "", nil
}

// PromActiveTarget is one active target of /api/v1/targets.
type PromActiveTarget struct {
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	Labels           map[string]string `json:"labels"`
	ScrapePool       string            `json:"scrapePool"`
	ScrapeURL        string            `json:"scrapeUrl"`
	Health           string            `json:"health"` // "up", "down" or "unknown" before the first scrape
	LastError        string            `json:"lastError"`
}

// ActiveTargets lists the targets Prometheus scrapes now, after service
// discovery and relabelling.
func (p *Prometheus) ActiveTargets(ctx context.Context) ([]PromActiveTarget, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/targets?state=active", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ActiveTargets []PromActiveTarget `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("targets: %s", res.Error)
	}
	return res.Data.ActiveTargets, nil
}

// Tail is the last n lines of the server's log, for failure messages.
func (p *Prometheus) Tail(n int) string { return p.proc.Tail(n) }
