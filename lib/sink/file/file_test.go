package file_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/metricsrecord"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/file"
	"github.com/heronkit/heronkit/lib/sink/sinktest"
)

func newSink(t *testing.T, output string, maximum int) sink.Sink {
	t.Helper()
	cfg := sink.NewConfig(file.DefaultID)
	cfg.Set(file.KeyFilenameOutput, output)
	cfg.Set(file.KeyFileMaximum, maximum)
	s, err := file.New(cfg, sink.Context{MetricsMgrID: "metricsmgr-1"}, sink.NewCounters(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// heronRecord is one element of a file's array, as Heron's FileSink writes it.
type heronRecord struct {
	Timestamp  int64             `json:"timestamp"`
	Source     string            `json:"source"`
	Context    string            `json:"context"`
	Metrics    map[string]string `json:"metrics"`
	Exceptions []struct {
		StackTrace string `json:"stackTrace"`
		LastTime   string `json:"lastTime"`
		FirstTime  string `json:"firstTime"`
		Count      int    `json:"count"`
		Logging    string `json:"logging"`
	} `json:"exceptions"`
}

func readArray(t *testing.T, path string) []heronRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []heronRecord
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s is not a JSON array: %v\n%s", path, err, b)
	}
	if out == nil {
		t.Fatalf("%s: want an array, got %s", path, b)
	}
	return out
}

// Five flush periods over three files: each period is one file, the index
// advances on every flush, and the oldest file is overwritten.
func TestRotationFileByFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "metrics.json")
	s := newSink(t, out, 3)
	ts := time.UnixMilli(1700000000000)
	periods := [][]int{{1, 2}, {3}, {}, {4, 5, 6}, {7}}
	for _, recs := range periods {
		for _, i := range recs {
			if err := s.Process(sinktest.Record(i, ts.Add(time.Duration(i)*time.Second))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Index 0: period 4 ({4,5,6}); index 1: period 5 ({7}); index 2: period 3 (empty).
	want := map[int][]int{0: {4, 5, 6}, 1: {7}, 2: {}}
	for idx, recs := range want {
		path := out + ".metricsmgr-1." + string(rune('0'+idx))
		got := readArray(t, path)
		if len(got) != len(recs) {
			t.Fatalf("%s: %d records, want %d", path, len(got), len(recs))
		}
		for k, i := range recs {
			r := sinktest.Record(i, ts.Add(time.Duration(i)*time.Second))
			if got[k].Source != r.Source || got[k].Timestamp != r.Timestamp || got[k].Context != "default" {
				t.Errorf("%s[%d] = %+v, want record %d", path, k, got[k], i)
			}
			if got[k].Metrics["__emit-count/default"] != r.Metrics[3].Value {
				t.Errorf("%s[%d] metrics = %v", path, k, got[k].Metrics)
			}
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s is writable (%v); Heron leaves finished files read-only", path, st.Mode())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("want exactly 3 files, got %v", entries)
	}
	// An empty period is written as an empty array, byte for byte.
	if b, _ := os.ReadFile(out + ".metricsmgr-1.2"); string(b) != "[]" {
		t.Errorf("empty period = %q, want []", b)
	}
}

// The JSON layout: metric values stay strings, a repeated name keeps its
// last value, exceptions use Heron's camel-case keys.
func TestRecordLayout(t *testing.T) {
	rec := &metricsrecord.Record{
		Timestamp: 1677661863123, Source: "host1:5/word/container_1_word_5", Context: "default",
		Metrics: []metricsrecord.Metric{{Name: "__emit-count/default", Value: "12"}, {Name: "a", Value: "1"},
			{Name: "__emit-count/default", Value: "13"}},
		Exceptions: []metricsrecord.Exception{{StackTrace: "java.lang.Error: \"x\"\n\tat Y", LastTime: "Wed Mar 01 09:11:03 UTC 2023",
			FirstTime: "Wed Mar 01 09:10:03 UTC 2023", Count: 3, Logging: "boom"}},
	}
	got := string(file.AppendRecord(nil, rec))
	want := `{"timestamp":1677661863123,"source":"host1:5/word/container_1_word_5","context":"default",` +
		`"metrics":{"a":"1","__emit-count/default":"13"},"exceptions":[{"stackTrace":"java.lang.Error: \"x\"\n\tat Y",` +
		`"lastTime":"Wed Mar 01 09:11:03 UTC 2023","firstTime":"Wed Mar 01 09:10:03 UTC 2023","count":3,"logging":"boom"}]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(got), &v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v["metrics"], map[string]any{"a": "1", "__emit-count/default": "13"}) {
		t.Errorf("metrics = %v", v["metrics"])
	}
}

// Through the runner: malformed lines are skipped and counted, and EOF
// flushes the last period into its file.
func TestRunnerMalformedLinesAndFinalFlush(t *testing.T) {
	dir := t.TempDir()
	cfg := sink.NewConfig(file.DefaultID)
	cfg.Set(file.KeyFilenameOutput, filepath.Join(dir, "m.json"))
	cfg.Set(file.KeyFileMaximum, "2") // Heron parses numbers leniently
	p := sinktest.Start(t, cfg, sink.Context{}, file.New)
	now := time.Now()
	p.Send(t, sinktest.Record(1, now))
	p.SendLine(t, `{"timestamp": oops`)
	p.SendLine(t, `{"timestamp":5}`) // no source
	p.SendLine(t, ``)                // blank lines are not records
	p.Send(t, sinktest.Record(2, now))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	got := readArray(t, filepath.Join(dir, "m.json.metricsmgr-1.0"))
	if len(got) != 2 {
		t.Fatalf("got %d records, want 2", len(got))
	}
	for name, want := range map[string]int64{sink.CountMalformed: 2, sink.CountRecords: 2, sink.CountFlushes: 1, sink.CountMetrics: 12} {
		if n := p.Count(name); n != want {
			t.Errorf("%s = %d, want %d", name, n, want)
		}
	}
}

// SIGTERM flushes too.
func TestRunnerStopFlushes(t *testing.T) {
	dir := t.TempDir()
	cfg := sink.NewConfig(file.DefaultID)
	cfg.Set(file.KeyFilenameOutput, filepath.Join(dir, "m.json"))
	cfg.Set(file.KeyFileMaximum, 2)
	p := sinktest.Start(t, cfg, sink.Context{MetricsMgrID: "metricsmgr-7"}, file.New)
	r := sinktest.Record(1, time.Now())
	r.MetricsMgrID = ""
	p.Send(t, r)
	// The record is written once the sink has read it; wait for that before
	// stopping, since a stop does not drain stdin.
	sinktest.WaitCount(t, p, sink.CountRecords, 1)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := readArray(t, filepath.Join(dir, "m.json.metricsmgr-7.0")); len(got) != 1 {
		t.Fatalf("got %d records, want 1", len(got))
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		set  map[string]any
		want string
	}{
		{map[string]any{file.KeyFileMaximum: 2}, "Require: filename-output"},
		{map[string]any{file.KeyFilenameOutput: "x"}, "Require: file-maximum"},
		{map[string]any{file.KeyFilenameOutput: "x", file.KeyFileMaximum: "two"}, "want an integer"},
		{map[string]any{file.KeyFilenameOutput: "x", file.KeyFileMaximum: 0}, "at least 1"},
	} {
		cfg := sink.NewConfig("file-sink")
		for k, v := range c.set {
			cfg.Set(k, v)
		}
		_, err := file.New(cfg, sink.Context{}, sink.NewCounters(), zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.set, err, c.want)
		}
	}
}

func BenchmarkFileSink(b *testing.B) {
	dir := b.TempDir()
	cfg := sink.NewConfig(file.DefaultID)
	cfg.Set(file.KeyFilenameOutput, filepath.Join(dir, "m.json"))
	cfg.Set(file.KeyFileMaximum, 5)
	cfg.Set(sink.KeyFlushFrequencyMs, 1000)
	p := sinktest.Start(b, cfg, sink.Context{}, file.New)
	recs := make([]*metricsrecord.Record, 100)
	for i := range recs {
		recs[i] = sinktest.Record(i, time.Now())
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		p.Send(b, recs[i%len(recs)])
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
