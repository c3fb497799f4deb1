package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sink run by hand reads metrics_sinks.yaml and override.yaml directly,
// with the same shallow merge as the executor's cluster-folder read.
func TestReadMetricsSinks(t *testing.T) {
	dir := t.TempDir()
	sinks := filepath.Join(dir, "metrics_sinks.yaml")
	over := filepath.Join(dir, "override.yaml")
	if err := os.WriteFile(sinks, []byte("sinks: [g]\ng:\n  class: heron-sink-graphite\n  graphite_port: \"2004\"\n  metrics_prefix: heron\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(over, []byte("heron.other: 1\ng:\n  graphite_port: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ms, err := ReadMetricsSinks(sinks, filepath.Join(dir, "missing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := ms.Section("g")
	if err != nil || sec == nil {
		t.Fatalf("section: %v %v", sec, err)
	}
	if n, err := sec.Int64("graphite_port", 0); err != nil || n != 2004 {
		t.Errorf("graphite_port = %d, %v", n, err)
	}
	if o := ms.Origin("g"); o.File != sinks || o.Line != 2 {
		t.Errorf("origin of g = %v", o)
	}

	// The override replaces the whole section, and errors point into it.
	ms, err = ReadMetricsSinks(sinks, over)
	if err != nil {
		t.Fatal(err)
	}
	sec, _ = ms.Section("g")
	if sec.Has("metrics_prefix") || ms.Origin("g").File != over {
		t.Errorf("override did not replace the section: %v from %v", sec.Keys(), ms.Origin("g"))
	}
	if _, err := sec.Int64("graphite_port", 0); err == nil || !strings.Contains(err.Error(), "override.yaml:3") {
		t.Errorf("error does not say where: %v", err)
	}

	if _, err := ReadMetricsSinks(filepath.Join(dir, "none.yaml"), ""); !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing sinks file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sinks: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMetricsSinks(sinks, bad); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bad override: %v", err)
	}
}

// The zero Config is an empty section that With fills, Go ints included.
func TestWithOnZeroConfig(t *testing.T) {
	var zero Config
	c := zero.With(map[string]any{"n": 5, "s": "x"})
	if n, err := c.Int64("n", 0); err != nil || n != 5 {
		t.Errorf("n = %d, %v", n, err)
	}
	if v, _ := c.Get("n"); v != int64(5) {
		t.Errorf("n stored as %T", v)
	}
	if zero.Has("n") || c.Origin("s").File != "command line" {
		t.Errorf("zero changed or origin lost: %v %v", zero.Keys(), c.Origin("s"))
	}
}
