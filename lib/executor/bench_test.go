package executor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/heronkit/heronkit/lib/testserver"
)

type benchResult struct {
	Count int64 `json:"count"`
	First int64 `json:"first"`
	Done  int64 `json:"done"`
	P50   int64 `json:"p50"`
	P99   int64 `json:"p99"`
}

func (r benchResult) seconds() float64 { return float64(r.Done-r.First) / 1e9 }

func waitResult(b *testing.B, dir string, timeout time.Duration) benchResult {
	b.Helper()
	var r benchResult
	err := testserver.Poll(context.Background(), timeout, func() error {
		files, _ := filepath.Glob(filepath.Join(dir, "result.*"))
		if len(files) == 0 {
			return fmt.Errorf("no result yet")
		}
		raw, err := os.ReadFile(files[0])
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &r)
	})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkTuples measures tuples/s and latency through a spout, a relay
// bolt and a sink bolt, in one container (every hop local) and across two
// (spout and sink in one, the relay in the other: two network hops), in raw
// and JSON mode, and the same three commands joined by a shell pipeline.
// The tuples are 20 bytes; each op is chunk tuples.
func BenchmarkTuples(b *testing.B) {
	cases := []struct {
		name       string
		containers int
		json       bool
		chunk      int
	}{
		{"raw/1-container", 1, false, 1_000_000},
		{"raw/2-containers", 2, false, 1_000_000},
		{"json/1-container", 1, true, 200_000},
		{"json/2-containers", 2, true, 200_000},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			n := tc.chunk * b.N
			gen, relay, sink, mode := role("gen"), "exec cat", role("sink"), ""
			if tc.json {
				gen, relay, sink, mode = role("gen-json"), role("relay-json"), role("sink-json"), "json"
			}
			// The shell pipeline of the same commands.
			shellDir := b.TempDir()
			must(b, os.WriteFile(filepath.Join(shellDir, "go"), nil, 0o644))
			self, _ := os.Executable()
			sh := exec.Command("/bin/sh", "-c", "("+gen+") | ("+relay+") | ("+sink+")")
			sh.Env = append(os.Environ(), "TEST_BIN="+self, "OUT_DIR="+shellDir, fmt.Sprintf("BENCH_N=%d", n), "HERON_TASK_ID=0")
			if out, err := sh.CombinedOutput(); err != nil {
				b.Fatalf("shell pipeline: %v %s", err, out)
			}
			shell := waitResult(b, shellDir, 10*time.Second)

			b.StopTimer()
			comps := []comp{
				{name: "gen", spout: true, par: 1, mode: mode, cmd: gen},
				{name: "relay", par: 1, mode: mode, cmd: relay, inputs: []input{{from: "gen", grouping: shuffle}}},
				{name: "sink", par: 1, mode: mode, cmd: sink, inputs: []input{{from: "relay", grouping: shuffle}}},
			}
			c := newCluster(b, comps, nil, tc.containers, "", fmt.Sprintf("BENCH_N=%d", n))
			c.waitRunning()
			// Let the physical plan reach every container.
			time.Sleep(300 * time.Millisecond)
			b.StartTimer()
			must(b, os.WriteFile(filepath.Join(c.outDir, "go"), nil, 0o644))
			top := waitResult(b, c.outDir, 5*time.Minute)
			b.StopTimer()
			if top.Count != int64(n) || shell.Count != int64(n) {
				b.Fatalf("topology delivered %d, shell %d, want %d", top.Count, shell.Count, n)
			}
			b.ReportMetric(float64(n)/top.seconds(), "tuples/s")
			b.ReportMetric(float64(top.P50)/1e3, "p50-µs")
			b.ReportMetric(float64(top.P99)/1e3, "p99-µs")
			b.ReportMetric(float64(n)/shell.seconds(), "shell-tuples/s")
			b.ReportMetric(float64(shell.P50)/1e3, "shell-p50-µs")
			b.ReportMetric(float64(shell.P99)/1e3, "shell-p99-µs")
			b.ReportMetric(top.seconds()/shell.seconds(), "x-shell-time")
		})
	}
}
