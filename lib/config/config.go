package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mode says which side of a deployment the token expansion is for.
type Mode int

const (
	// LocalMode expands ${HERON_HOME} and ${HERON_CONF} to the client's
	// install and cluster folder.
	LocalMode Mode = iota
	// ClusterMode expands them to heron.directory.cluster.home and
	// heron.directory.cluster.conf (./heron-core and ./heron-conf), the paths
	// inside a container's working directory.
	ClusterMode
)

func (m Mode) String() string {
	if m == ClusterMode {
		return "cluster"
	}
	return "local"
}

// Config is a flat map of Heron keys to values, after token substitution.
// Values keep the types YAML gave them: string, int64, float64, bool, nil,
// []any and map[string]any. A Config is read-only and safe for concurrent use;
// With returns a changed copy. The zero Config is an empty section: With on
// it builds one from values given in code or on a command line.
type Config struct {
	mode    Mode
	exp     expander
	raw     map[string]any // before token substitution
	vals    map[string]any // after
	origins map[string]Origin

	dir       string // the cluster folder, "" for sections
	overrides *layer // override file + --config-property, for Internals and MetricsSinks
}

// newSection wraps a nested map (a metrics sink section, say) so that the same
// typed getters work on it. Sections are not token-expanded, as in Heron.
func newSection(vals map[string]any, origins map[string]Origin) *Config {
	return &Config{raw: vals, vals: vals, origins: origins}
}

// Mode is the mode the values were expanded for.
func (c *Config) Mode() Mode { return c.mode }

// Dir is the cluster folder the config was loaded from.
func (c *Config) Dir() string { return c.dir }

// Has reports whether key is set (even to null).
func (c *Config) Has(key string) bool { _, ok := c.vals[key]; return ok }

// Get returns a key's expanded value.
func (c *Config) Get(key string) (any, bool) { v, ok := c.vals[key]; return v, ok }

// Raw returns a key's value before token substitution.
func (c *Config) Raw(key string) (any, bool) { v, ok := c.raw[key]; return v, ok }

// Keys lists every key, sorted.
func (c *Config) Keys() []string { return slices.Sorted(maps.Keys(c.vals)) }

// Map returns a copy of the expanded values, for printing.
func (c *Config) Map() map[string]any { return maps.Clone(c.vals) }

// Origin says where a key's value came from.
func (c *Config) Origin(key string) Origin { return c.origins[key] }

// With returns a copy with the given keys set (as the command line sets them)
// and tokens expanded again, so that ${TOPOLOGY} in a path picks up a name set
// after loading. A Go int is stored as int64, the type YAML gives numbers.
func (c *Config) With(kv map[string]any) *Config {
	n := *c
	n.raw = maps.Clone(c.raw)
	n.origins = maps.Clone(c.origins)
	if n.raw == nil {
		n.raw = make(map[string]any, len(kv))
		n.origins = make(map[string]Origin, len(kv))
	}
	for k, v := range kv {
		if i, ok := v.(int); ok {
			v = int64(i)
		}
		n.raw[k] = v
		n.origins[k] = Origin{File: "command line"}
	}
	if c.dir == "" { // a section: never expanded
		n.vals = n.raw
		return &n
	}
	n.vals = n.exp.expandAll(withModeDirs(n.raw, n.mode))
	return &n
}

// ForMode returns the same keys expanded for the other side: a client that
// builds a container's command line needs the cluster-mode paths.
func (c *Config) ForMode(m Mode) *Config {
	if m == c.mode || c.dir == "" {
		return c
	}
	n := *c
	n.mode = m
	n.vals = n.exp.expandAll(withModeDirs(n.raw, m))
	return &n
}

// withModeDirs points HERON_HOME/HERON_CONF where the mode wants them. raw
// holds the values Load was given; cluster mode takes Heron's cluster keys.
func withModeDirs(raw map[string]any, m Mode) map[string]any {
	if m == LocalMode {
		return raw
	}
	r := maps.Clone(raw)
	r[KeyHeronHome] = raw[KeyClusterHome]
	r[KeyHeronConf] = raw[KeyClusterConf]
	return r
}

// typeError names the key, where its value came from, and what was wanted.
func (c *Config) typeError(key, want string, v any) error {
	return fmt.Errorf("config: %s in %s: want %s, got %s", key, c.origins[key], want, describe(v))
}

func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%v", v)
}

// String returns a key's value as a string, or def when unset or null.
// Numbers and booleans are formatted; lists and maps are an error.
func (c *Config) String(key, def string) (string, error) {
	v, ok := c.vals[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v.(type) {
	case []any, map[string]any:
		return def, c.typeError(key, "a string", v)
	}
	return formatScalar(v), nil
}

// Int64 returns a key's value as an integer, or def when unset or null.
// Numeric strings count, as Heron's TypeUtils accepts them (overrides from
// the command line are strings).
func (c *Config) Int64(key string, def int64) (int64, error) {
	v, ok := c.vals[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case int64:
		return t, nil
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<63 {
			return int64(t), nil
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64); err == nil {
			return n, nil
		}
	}
	return def, c.typeError(key, "an integer", v)
}

// Int is Int64 for values that must fit an int.
func (c *Config) Int(key string, def int) (int, error) {
	n, err := c.Int64(key, int64(def))
	if err != nil {
		return def, err
	}
	if int64(int(n)) != n {
		return def, c.typeError(key, "an integer that fits an int", n)
	}
	return int(n), nil
}

// Float returns a key's value as a float, or def when unset or null.
func (c *Config) Float(key string, def float64) (float64, error) {
	v, ok := c.vals[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case float64:
		return t, nil
	case int64:
		return float64(t), nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil {
			return f, nil
		}
	}
	return def, c.typeError(key, "a number", v)
}

// Bool returns a key's value as a boolean, or def when unset or null. Besides
// YAML booleans it takes the strings true/false in any case (what
// --config-property and -D produce) and yes/no/on/off, which Heron's YAML 1.1
// parser read as booleans.
func (c *Config) Bool(key string, def bool) (bool, error) {
	v, ok := c.vals[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true", "yes", "on":
			return true, nil
		case "false", "no", "off":
			return false, nil
		}
	}
	return def, c.typeError(key, "true or false", v)
}

// Duration reads a key whose name ends in its unit, as Heron's keys do
// (".ms", ".sec", "-second", ".min", ...). The value is a count of that unit.
func (c *Config) Duration(key string, def time.Duration) (time.Duration, error) {
	unit, ok := unitOf(key)
	if !ok {
		return def, fmt.Errorf("config: %s names no time unit (.ms, .sec, .min); read it with DurationUnit", key)
	}
	return c.DurationUnit(key, unit, def)
}

// DurationUnit reads a key holding a count of unit.
func (c *Config) DurationUnit(key string, unit, def time.Duration) (time.Duration, error) {
	if v, ok := c.vals[key]; !ok || v == nil {
		return def, nil
	}
	n, err := c.Int64(key, 0)
	if err != nil {
		return def, c.typeError(key, "a whole number of "+unitName(unit), c.vals[key])
	}
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		return def, c.typeError(key, "a duration that fits in 290 years", n)
	}
	return time.Duration(n) * unit, nil
}

func unitOf(key string) (time.Duration, bool) {
	i := strings.LastIndexAny(key, ".-_")
	if i < 0 {
		return 0, false
	}
	switch key[i+1:] {
	case "ms", "millis", "milliseconds":
		return time.Millisecond, true
	case "sec", "secs", "second", "seconds":
		return time.Second, true
	case "min", "mins", "minute", "minutes":
		return time.Minute, true
	}
	return 0, false
}

func unitName(u time.Duration) string {
	switch u {
	case time.Millisecond:
		return "milliseconds"
	case time.Second:
		return "seconds"
	case time.Minute:
		return "minutes"
	}
	return u.String() + "s"
}

// Bytes reads a size. Keys ending in ".mb" hold MiB, as heron_internals.yaml's
// do; any other key holds bytes (Heron's ByteAmount keys, "*.bytes").
func (c *Config) Bytes(key string, def int64) (int64, error) {
	n, err := c.Int64(key, def)
	if err != nil || !strings.HasSuffix(key, ".mb") {
		return n, err
	}
	if v, ok := c.vals[key]; !ok || v == nil {
		return def, nil
	}
	if n > math.MaxInt64>>20 || n < 0 {
		return def, c.typeError(key, "a size in MiB", n)
	}
	return n << 20, nil
}

// StringList reads a list of strings (a single string is a one-item list).
func (c *Config) StringList(key string) ([]string, error) {
	v, ok := c.vals[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			switch e.(type) {
			case []any, map[string]any, nil:
				return nil, c.typeError(key, "a list of strings", v)
			}
			out = append(out, formatScalar(e))
		}
		return out, nil
	}
	return nil, c.typeError(key, "a list of strings", v)
}

// StringMap reads a map of strings, such as heron.downloader.registry.
func (c *Config) StringMap(key string) (map[string]string, error) {
	v, ok := c.vals[key]
	if !ok || v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, c.typeError(key, "a map", v)
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		switch e.(type) {
		case []any, map[string]any:
			return nil, c.typeError(key, "a map of strings", v)
		}
		out[k] = formatScalar(e)
	}
	return out, nil
}
