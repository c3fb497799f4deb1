package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/heronkit/heronkit/lib/exitcode"
)

// Config is one sink's settings under Heron's yaml keys (the map Heron hands
// IMetricsSink.init), whether they came from a metrics_sinks.yaml section, from
// --set or from named flags.
type Config struct {
	// ID is the sink id (the section name), e.g. "graphite-sink".
	ID string
	// Origin says where the section came from, for error messages.
	Origin string
	Values map[string]any
}

// NewConfig returns an empty config for the sink id.
func NewConfig(id string) *Config {
	return &Config{ID: id, Origin: "flags", Values: map[string]any{}}
}

// LoadSection reads sinksFile (metrics_sinks.yaml) and overrideFile
// (override.yaml, optional and may be missing), merges them as Heron's metrics
// manager does (the override replaces whole top-level keys), and returns the
// section of sink id. A warning is returned when id is not in the sinks list:
// the executor would not start it, but a user may run it by hand.
func LoadSection(sinksFile, overrideFile, id string) (cfg *Config, warning string, err error) {
	top, err := readYAMLMap(sinksFile, false)
	if err != nil {
		return nil, "", err
	}
	origin := sinksFile
	if overrideFile != "" {
		over, err := readYAMLMap(overrideFile, true)
		if err != nil {
			return nil, "", err
		}
		for k, v := range over {
			top[k] = v
			if k == id {
				origin = overrideFile
			}
		}
	}
	if listed, ok := top["sinks"].([]any); ok {
		if !slices.ContainsFunc(listed, func(v any) bool { return fmt.Sprint(v) == id }) {
			warning = fmt.Sprintf("sink %s is not in the sinks list of %s; running it anyway", id, sinksFile)
		}
	}
	raw, ok := top[id]
	if !ok || raw == nil {
		return nil, "", exitcode.WithHint(
			exitcode.Errorf(exitcode.Config, "%s has no section for sink %q", sinksFile, id),
			"pass the --sink-id of a section in that file, or add the section")
	}
	sec, ok := raw.(map[string]any)
	if !ok {
		return nil, "", exitcode.Errorf(exitcode.Config, "sink %s in %s: want a map of settings, got %T", id, origin, raw)
	}
	cfg = &Config{ID: id, Origin: origin, Values: map[string]any{}}
	for k, v := range sec {
		cfg.Values[k] = v
	}
	return cfg, warning, nil
}

func readYAMLMap(path string, missingOK bool) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if missingOK && errors.Is(err, fs.ErrNotExist) {
			return map[string]any{}, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, exitcode.Errorf(exitcode.NotFound, "read sink config: %v", err)
		}
		return nil, exitcode.Errorf(exitcode.Config, "read sink config: %v", err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, exitcode.Errorf(exitcode.Config, "parse %s: %v", path, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// Set sets a key, replacing what the section said.
func (c *Config) Set(key string, v any) { c.Values[key] = v }

// Has reports whether key is set.
func (c *Config) Has(key string) bool {
	v, ok := c.Values[key]
	return ok && v != nil
}

// Keys returns the keys, sorted.
func (c *Config) Keys() []string {
	ks := make([]string, 0, len(c.Values))
	for k := range c.Values {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (c *Config) errorf(key, format string, args ...any) error {
	return exitcode.Errorf(exitcode.Config, "sink %s (%s): %s: %s", c.ID, c.Origin, key, fmt.Sprintf(format, args...))
}

func (c *Config) required(key string) error {
	return exitcode.Errorf(exitcode.Config, "sink %s (%s): Require: %s", c.ID, c.Origin, key)
}

// String returns key as a string (numbers and bools are rendered), or def.
func (c *Config) String(key, def string) (string, error) {
	v, ok := c.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(t), nil
	}
	return "", c.errorf(key, "want a string, got %T", v)
}

// RequiredString is String for a key Heron requires; missing or empty fails
// with Heron's "Require: <key>".
func (c *Config) RequiredString(key string) (string, error) {
	s, err := c.String(key, "")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", exitcode.WithHint(c.required(key),
			fmt.Sprintf("set %s in the sink's section or pass it as a flag", key))
	}
	return s, nil
}

// Int returns key as an integer, or def. Heron parses numbers leniently: YAML
// ints, integral floats and strings like "9999" are all accepted.
func (c *Config) Int(key string, def int64) (int64, error) {
	v, ok := c.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case int:
		return int64(t), nil
	case int64:
		return t, nil
	case uint64:
		if t > math.MaxInt64 {
			return 0, c.errorf(key, "%d is too large", t)
		}
		return int64(t), nil
	case float64:
		if t != math.Trunc(t) || math.IsInf(t, 0) {
			return 0, c.errorf(key, "want an integer, got %v", t)
		}
		return int64(t), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		if err != nil {
			return 0, c.errorf(key, "want an integer, got %q", t)
		}
		return n, nil
	}
	return 0, c.errorf(key, "want an integer, got %T", v)
}

// RequiredInt is Int for a key Heron requires.
func (c *Config) RequiredInt(key string) (int64, error) {
	if !c.Has(key) {
		return 0, exitcode.WithHint(c.required(key),
			fmt.Sprintf("set %s in the sink's section or pass it as a flag", key))
	}
	return c.Int(key, 0)
}

// Float returns key as a float, or def.
func (c *Config) Float(key string, def float64) (float64, error) {
	v, ok := c.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case int:
		return float64(t), nil
	case int64:
		return float64(t), nil
	case uint64:
		return float64(t), nil
	case float64:
		return t, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil {
			return 0, c.errorf(key, "want a number, got %q", t)
		}
		return f, nil
	}
	return 0, c.errorf(key, "want a number, got %T", v)
}

// Bool returns key as a bool, or def: YAML bools or the strings "true"/"false".
func (c *Config) Bool(key string, def bool) (bool, error) {
	v, ok := c.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, c.errorf(key, "want true or false, got %v", v)
}

// PositiveMs returns a millisecond key that must be > 0, or def.
func (c *Config) PositiveMs(key string, def int64) (int64, error) {
	n, err := c.Int(key, def)
	if err != nil {
		return 0, err
	}
	if n <= 0 {
		return 0, c.errorf(key, "want a positive number of milliseconds, got %d", n)
	}
	return n, nil
}
