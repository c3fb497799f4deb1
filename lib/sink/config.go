package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
)

// Config is one sink's settings under Heron's yaml keys (the map Heron hands
// IMetricsSink.init), whether they came from a metrics_sinks.yaml section, from
// --set or from named flags. It is a lib/config section whose errors carry the
// sink's id and exit code 82, plus the checks every sink shares.
type Config struct {
	// ID is the sink id (the section name), e.g. "graphite-sink".
	ID string
	// Origin says where the section came from: a file, or "flags".
	Origin string
	c      *config.Config
}

// NewConfig returns an empty config for the sink id.
func NewConfig(id string) *Config {
	return &Config{ID: id, Origin: "flags", c: new(config.Config)}
}

// LoadSection reads sinksFile (metrics_sinks.yaml) and overrideFile
// (override.yaml, optional and may be missing), merged as Heron's metrics
// manager does (the override replaces whole top-level keys), and returns the
// section of sink id. A warning is returned when id is not in the sinks list:
// the executor would not start it, but a user may run it by hand.
func LoadSection(sinksFile, overrideFile, id string) (cfg *Config, warning string, err error) {
	ms, err := config.ReadMetricsSinks(sinksFile, overrideFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", exitcode.Wrap(exitcode.NotFound, err)
		}
		return nil, "", exitcode.Wrap(exitcode.Config, err)
	}
	if ms.Raw()["sinks"] != nil {
		if ids, err := ms.IDs(); err == nil && !slices.Contains(ids, id) {
			warning = fmt.Sprintf("sink %s is not in the sinks list of %s; running it anyway", id, sinksFile)
		}
	}
	sec, err := ms.Section(id)
	if err != nil {
		return nil, "", exitcode.Wrap(exitcode.Config, err)
	}
	if sec == nil {
		return nil, "", exitcode.WithHint(
			exitcode.Errorf(exitcode.Config, "%s has no section for sink %q", sinksFile, id),
			"pass the --sink-id of a section in that file, or add the section")
	}
	return &Config{ID: id, Origin: ms.Origin(id).File, c: sec}, warning, nil
}

// Set sets a key, replacing what the section said.
func (c *Config) Set(key string, v any) { c.c = c.c.With(map[string]any{key: v}) }

// Has reports whether key is set to something other than null.
func (c *Config) Has(key string) bool {
	v, ok := c.c.Get(key)
	return ok && v != nil
}

// Get returns a key's value as YAML gave it, for settings that are not scalars.
func (c *Config) Get(key string) any {
	v, _ := c.c.Get(key)
	return v
}

// Keys returns the keys, sorted.
func (c *Config) Keys() []string { return c.c.Keys() }

// String returns key as a string (numbers and bools are rendered), or def.
func (c *Config) String(key, def string) (string, error) {
	s, err := c.c.String(key, def)
	return s, c.wrap(err)
}

// Int returns key as an integer, or def. Heron parses numbers leniently: YAML
// ints, integral floats and strings like "9999" are all accepted.
func (c *Config) Int(key string, def int64) (int64, error) {
	n, err := c.c.Int64(key, def)
	return n, c.wrap(err)
}

// Float returns key as a float, or def.
func (c *Config) Float(key string, def float64) (float64, error) {
	f, err := c.c.Float(key, def)
	return f, c.wrap(err)
}

// Bool returns key as a bool, or def: YAML bools or strings such as "true".
func (c *Config) Bool(key string, def bool) (bool, error) {
	b, err := c.c.Bool(key, def)
	return b, c.wrap(err)
}

// wrap gives lib/config's error (which says the key and its file:line) the
// sink's id and the bad-config exit code.
func (c *Config) wrap(err error) error {
	if err == nil {
		return nil
	}
	msg, _ := strings.CutPrefix(err.Error(), "config: ")
	return exitcode.Errorf(exitcode.Config, "sink %s: %s", c.ID, msg)
}

// errorf reports a bad value of key the way lib/config does.
func (c *Config) errorf(key, format string, args ...any) error {
	where := c.Origin
	if o := c.c.Origin(key); o.File != "" {
		where = o.String()
	}
	return exitcode.Errorf(exitcode.Config, "sink %s: %s in %s: %s", c.ID, key, where, fmt.Sprintf(format, args...))
}

func (c *Config) required(key string) error {
	return exitcode.WithHint(exitcode.Errorf(exitcode.Config, "sink %s (%s): Require: %s", c.ID, c.Origin, key),
		fmt.Sprintf("set %s in the sink's section or pass it as a flag", key))
}

// RequiredString is String for a key Heron requires; missing or empty fails
// with Heron's "Require: <key>".
func (c *Config) RequiredString(key string) (string, error) {
	s, err := c.String(key, "")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", c.required(key)
	}
	return s, nil
}

// RequiredInt is Int for a key Heron requires.
func (c *Config) RequiredInt(key string) (int64, error) {
	if !c.Has(key) {
		return 0, c.required(key)
	}
	return c.Int(key, 0)
}

// TCPAddress reads the host and port keys of a sink that connects to a
// server, as host:port. An empty defHost or a zero defPort makes that key
// required (Heron's "Require: <key>").
func (c *Config) TCPAddress(hostKey, defHost, portKey string, defPort int64) (string, error) {
	var host string
	var err error
	if defHost == "" {
		host, err = c.RequiredString(hostKey)
	} else {
		host, err = c.String(hostKey, defHost)
	}
	if err != nil {
		return "", err
	}
	var port int
	if defPort == 0 {
		port, err = c.RequiredPort(portKey)
	} else {
		port, err = c.Port(portKey, defPort)
	}
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// Port is Int for a TCP port key: def when absent, refused unless 1-65535.
func (c *Config) Port(key string, def int64) (int, error) {
	n, err := c.Int(key, def)
	if err != nil {
		return 0, err
	}
	return c.CheckPort(key, n)
}

// RequiredPort is Port for a key Heron requires.
func (c *Config) RequiredPort(key string) (int, error) {
	n, err := c.RequiredInt(key)
	if err != nil {
		return 0, err
	}
	return c.CheckPort(key, n)
}

// CheckPort refuses a port key's value outside 1-65535, for sinks that
// find their port some other way too (a port file).
func (c *Config) CheckPort(key string, n int64) (int, error) {
	if n <= 0 || n > 65535 {
		return 0, fmt.Errorf("sink %s: %s %d is not a TCP port", c.ID, key, n)
	}
	return int(n), nil
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
