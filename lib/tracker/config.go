package tracker

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// StateManager is one statemgrs entry of heron_tracker.yaml.
type StateManager struct {
	// Type is file or zookeeper.
	Type string `yaml:"type"`
	// Name is what /clusters lists.
	Name string `yaml:"name"`
	// RootPath is the state root: a directory (file) or a znode path (zookeeper).
	RootPath string `yaml:"rootpath"`
	// HostPort is host:port[,host:port...] of the ZooKeeper ensemble.
	HostPort string `yaml:"hostport"`
	// TunnelHost is accepted for compatibility; no ssh tunnel is made.
	TunnelHost string `yaml:"tunnelhost"`
}

// Config is heron_tracker.yaml.
type Config struct {
	StateManagers []StateManager `yaml:"statemgrs"`
	ExtraLinks    []ExtraLink    `yaml:"extra.links"`
}

// LoadConfig reads heron_tracker.yaml. A missing file gives one empty state
// manager entry, which the command-line flags then fill in (Heron's rule).
func LoadConfig(path string) (*Config, error) {
	c := &Config{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.StateManagers = []StateManager{{}}
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("read tracker config: %w", err)
	}
	if err := yaml.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("tracker config %s: %w", path, err)
	}
	if len(c.StateManagers) == 0 {
		c.StateManagers = []StateManager{{}}
	}
	return c, nil
}

// Override sets the fields of the first state manager that are non-empty,
// as heron-tracker's --type, --name, --rootpath, --tunnelhost and --hostport do.
func (c *Config) Override(o StateManager) {
	if len(c.StateManagers) == 0 {
		c.StateManagers = []StateManager{{}}
	}
	f := &c.StateManagers[0]
	for _, p := range []struct {
		dst *string
		v   string
	}{
		{&f.Type, o.Type}, {&f.Name, o.Name}, {&f.RootPath, o.RootPath}, {&f.HostPort, o.HostPort}, {&f.TunnelHost, o.TunnelHost},
	} {
		if p.v != "" {
			*p.dst = p.v
		}
	}
}

// Validate checks every entry and the extra links, with Heron's messages
// where Heron has one.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	for i, s := range c.StateManagers {
		if s.Name == "" {
			return fmt.Errorf("tracker config: statemgrs entry %d has no name; set name (or --name)", i+1)
		}
		if seen[s.Name] {
			return fmt.Errorf("tracker config: state manager name %q is used twice; names must be unique", s.Name)
		}
		seen[s.Name] = true
		if _, err := s.URI(); err != nil {
			return err
		}
	}
	for _, l := range c.ExtraLinks {
		if l.Name == "" || l.Formatter == "" {
			return errors.New("invalid extra.links format: an extra link must include a 'name' and a 'formatter' field")
		}
		if err := CheckFormatter(l.Formatter); err != nil {
			return err
		}
	}
	return nil
}

// URI is the statemgr.Open URI of the entry.
func (s StateManager) URI() (string, error) {
	switch s.Type {
	case "file":
		if s.RootPath == "" {
			return "", fmt.Errorf("state manager %s: file type needs a rootpath (or --rootpath)", s.Name)
		}
		root := s.RootPath
		if root == "~" || strings.HasPrefix(root, "~/") {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("state manager %s: expand ~: %w", s.Name, err)
			}
			root = filepath.Join(home, root[1:])
		}
		abs, err := filepath.Abs(root)
		if err != nil {
			return "", fmt.Errorf("state manager %s: %w", s.Name, err)
		}
		return "file://" + abs, nil
	case "zookeeper":
		if s.HostPort == "" {
			return "", fmt.Errorf("state manager %s: zookeeper type needs a hostport (or --hostport)", s.Name)
		}
		for _, hp := range strings.Split(s.HostPort, ",") {
			if _, _, err := net.SplitHostPort(strings.TrimSpace(hp)); err != nil {
				return "", fmt.Errorf("hostport for %s must be of the form 'host:port' (got %q)", s.Name, hp)
			}
		}
		root := s.RootPath
		if root == "" {
			root = "/heron"
		}
		if !strings.HasPrefix(root, "/") {
			root = "/" + root
		}
		return "zk://" + strings.ReplaceAll(s.HostPort, " ", "") + root, nil
	case "":
		return "", fmt.Errorf("state manager %s: no type; set type to file or zookeeper (or --type)", s.Name)
	}
	return "", fmt.Errorf("state manager %s: unknown type %q (use file or zookeeper)", s.Name, s.Type)
}
