package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Internals reads heron_internals.yaml (the file heron.config.file.system.yaml
// names) with the override file and --config-property values over it, key by
// key, as Heron's processes read it. A missing file gives an empty config.
func (c *Config) Internals() (*Config, error) {
	l, _, err := c.readWithOverrides("heron.config.file.system.yaml")
	if err != nil {
		return nil, err
	}
	return newSection(l.vals, l.origins), nil
}

func (c *Config) readWithOverrides(fileKey string) (*layer, string, error) {
	path, err := c.String(fileKey, "")
	if err != nil {
		return nil, "", err
	}
	if path == "" {
		return nil, "", fmt.Errorf("config: %s is empty; it must name a file", fileKey)
	}
	l, _, err := readYAMLFile(path)
	if err != nil {
		return nil, "", err
	}
	l.overlay(c.overrides)
	return l, path, nil
}

// MetricsSinks is metrics_sinks.yaml: a "sinks" list of ids and one section
// per id. As in Heron's metrics manager, the override file replaces whole
// top-level keys (the list, or a whole section).
type MetricsSinks struct {
	// File is the path that was read.
	File string
	l    *layer
}

// Sink is one enabled metrics sink.
type Sink struct {
	// ID is the sink's name in the sinks list, e.g. "file-sink".
	ID string
	// Class is the section's class value as written.
	Class string
	// Binary is the heron-sink-* command that runs the sink; empty for built-ins.
	Binary string
	// Builtin names a sink the executor serves itself: "tmanager" or "metricscache".
	Builtin string
	// Settings is the whole section, class included.
	Settings *Config
}

// MetricsSinks reads the file heron.config.file.metrics.yaml names. A missing
// file gives no sinks.
func (c *Config) MetricsSinks() (*MetricsSinks, error) {
	l, path, err := c.readWithOverrides("heron.config.file.metrics.yaml")
	if err != nil {
		return nil, err
	}
	return &MetricsSinks{File: path, l: l}, nil
}

// ReadMetricsSinks reads a metrics_sinks.yaml with an override.yaml over it,
// outside a cluster folder, as a sink run by hand does. The sinks file must
// exist (the error wraps fs.ErrNotExist when it does not); the override file
// is optional ("" for none) and may be missing, as in Heron's metrics manager.
func ReadMetricsSinks(file, overrideFile string) (*MetricsSinks, error) {
	l, err := readYAMLFileRequired(file)
	if err != nil {
		return nil, err
	}
	if overrideFile != "" {
		over, _, err := readYAMLFile(overrideFile)
		if err != nil {
			return nil, err
		}
		l.overlay(over)
	}
	return &MetricsSinks{File: file, l: l}, nil
}

// Origin says where a top-level key (a section, the sinks list) came from:
// the sinks file or the override file, with its line.
func (m *MetricsSinks) Origin(key string) Origin { return m.l.origins[key] }

// Raw returns the file's top-level map (after overrides).
func (m *MetricsSinks) Raw() map[string]any { return maps.Clone(m.l.vals) }

// IDs returns the sinks list, in order.
func (m *MetricsSinks) IDs() ([]string, error) {
	c := newSection(m.l.vals, m.l.origins)
	ids, err := c.StringList("sinks")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return nil, fmt.Errorf("config: sinks in %s lists %q twice", m.l.origins["sinks"], id)
		}
		seen[id] = true
	}
	return ids, nil
}

// Section returns one sink's section, or nil when there is none.
func (m *MetricsSinks) Section(id string) (*Config, error) {
	v, ok := m.l.vals[id]
	if !ok || v == nil {
		return nil, nil
	}
	sec, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("config: sink %s in %s: want a map of settings, got %s", id, m.l.origins[id], describe(v))
	}
	origins := map[string]Origin{}
	file := m.l.origins[id].File
	if n := m.l.nodes[id]; n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			origins[n.Content[i].Value] = Origin{File: file, Line: n.Content[i].Line}
		}
	}
	for k := range sec {
		if _, ok := origins[k]; !ok {
			origins[k] = Origin{File: fmt.Sprintf("%s (sink %s)", m.l.origins[id], id)}
		}
	}
	return newSection(sec, origins), nil
}

// Sinks returns the enabled sinks with the command or built-in that runs
// each. A listed id without a section or class is an error, as in Heron.
func (m *MetricsSinks) Sinks() ([]Sink, error) {
	ids, err := m.IDs()
	if err != nil {
		return nil, err
	}
	out := make([]Sink, 0, len(ids))
	for _, id := range ids {
		sec, err := m.Section(id)
		if err != nil {
			return nil, err
		}
		if sec == nil {
			return nil, fmt.Errorf("config: sink %s is listed in %s but has no section; add a %q map with a class", id, m.File, id)
		}
		class, err := sec.String("class", "")
		if err != nil {
			return nil, err
		}
		if class == "" {
			return nil, fmt.Errorf("config: sink %s in %s has no class; set class to a heron-sink-* command or a Heron sink class", id, m.l.origins[id])
		}
		bin, builtin, err := SinkRunner(class)
		if err != nil {
			return nil, fmt.Errorf("config: sink %s in %s: %w", id, sec.origins["class"], err)
		}
		out = append(out, Sink{ID: id, Class: class, Binary: bin, Builtin: builtin, Settings: sec})
	}
	return out, nil
}

// Heron's sink classes and what stands in for them here.
var (
	sinkBinaries = map[string]string{
		"org.apache.heron.metricsmgr.sink.FileSink":           "heron-sink-file",
		"org.apache.heron.metricsmgr.sink.GraphiteSink":       "heron-sink-graphite",
		"org.apache.heron.metricsmgr.sink.PrometheusSink":     "heron-sink-prometheus",
		"org.apache.heron.metricsmgr.sink.scribe.ScribeSink":  "heron-sink-scribe",
		"com.twitter.heron.metricsmgr.sink.FileSink":          "heron-sink-file",
		"com.twitter.heron.metricsmgr.sink.GraphiteSink":      "heron-sink-graphite",
		"com.twitter.heron.metricsmgr.sink.scribe.ScribeSink": "heron-sink-scribe",
		"com.twitter.heron.metricsmgr.sink.PrometheusSink":    "heron-sink-prometheus",
	}
	sinkBuiltins = map[string]string{
		"org.apache.heron.metricsmgr.sink.tmanager.TManagerSink":         "tmanager",
		"org.apache.heron.metricsmgr.sink.tmaster.TMasterSink":           "tmanager",
		"org.apache.heron.metricsmgr.sink.metricscache.MetricsCacheSink": "metricscache",
		"tmanager":     "tmanager",
		"metricscache": "metricscache",
	}
	sinkCommand = regexp.MustCompile(`^heron-sink-[a-z0-9][a-z0-9_-]*$`)
)

// SinkRunner says what runs a sink class: a heron-sink-* command (found on
// PATH by the executor), or a built-in of the executor. Our own command names
// are taken as they are; Heron's Java classes are aliases.
func SinkRunner(class string) (binary, builtin string, err error) {
	class = strings.TrimSpace(class)
	if b, ok := sinkBinaries[class]; ok {
		return b, "", nil
	}
	if b, ok := sinkBuiltins[class]; ok {
		return "", b, nil
	}
	if sinkCommand.MatchString(class) {
		return class, "", nil
	}
	accepted := append([]string{"heron-sink-<name>"}, slices.Sorted(maps.Keys(sinkBuiltins))...)
	accepted = append(accepted, slices.Sorted(maps.Keys(sinkBinaries))...)
	return "", "", fmt.Errorf("class %q is not a sink we can run (use one of %s)", class, strings.Join(accepted, ", "))
}
