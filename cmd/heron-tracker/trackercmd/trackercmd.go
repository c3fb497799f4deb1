// Package trackercmd wires heron-tracker's flags to lib/tracker and lib/trackerapi.
package trackercmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/tracker"
	"github.com/heronkit/heronkit/lib/trackerapi"
)

// App is heron-tracker.
func App() cli.App {
	return cli.App{
		Name: "heron-tracker",
		Description: "Serve Heron's tracker REST API (Heron 0.20.5 paths, parameters and JSON, plus the 0.20.4 flat paths) " +
			"for every topology of the state managers in heron_tracker.yaml (local file system and ZooKeeper). " +
			"Metrics, timelines, the metrics query language and exceptions come from each topology manager's stats port; " +
			"container files, pid, jstack, jmap and histo from each container's heron-shell.\n\n" +
			"The --type, --name, --rootpath, --tunnelhost and --hostport flags override the first state manager of the config file, " +
			"as in Heron; without a config file they define it. Once listening it prints one JSON line {\"listen\",\"url\"} on stdout. " +
			"Also serves /healthz (503 while a state manager is unreachable) and /metrics (Prometheus).",
		CLI: &CLI{},
	}
}

// CLI is heron-tracker's command line.
type CLI struct {
	cli.Globals
	ConfigFile  string `name:"config-file" default:"~/.herontools/conf/heron_tracker.yaml" env:"HERON_TRACKER_CONFIG" help:"heron_tracker.yaml: statemgrs (type, name, rootpath, hostport) and extra.links. A missing file means one state manager from the flags below."`
	Port        int    `default:"8888" env:"HERON_TRACKER_PORT" help:"TCP port to listen on; 0 picks a free one."`
	Bind        string `default:"0.0.0.0" env:"HERON_TRACKER_BIND" help:"Address to listen on; 0.0.0.0 means every interface (as Heron's tracker)."`
	Type        string `enum:",file,zookeeper" default:"" help:"Type of the first state manager: file or zookeeper."`
	Name        string `help:"Name of the first state manager (what /clusters lists)."`
	Rootpath    string `help:"Root of the first state manager: a directory (file) or a znode path (zookeeper)."`
	Tunnelhost  string `help:"Accepted for compatibility with Heron; no ssh tunnel is made (open one yourself and use --hostport)."`
	Hostport    string `help:"ZooKeeper host:port[,host:port...] of the first state manager."`
	Verbose     bool   `help:"Log at debug level (same as --log-level debug)."`
	MemoryLimit int    `name:"memory-limit-mb" default:"28" env:"HERON_TRACKER_MEMORY_LIMIT_MB" help:"Soft limit of the Go heap in MiB (GOMEMLIMIT wins when set); 0 means none. Raise it for thousands of topologies."`
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// Run serves until SIGINT or SIGTERM, then shuts down gracefully.
func (c *CLI) Run(env *cli.Env) error {
	log := env.Log
	if c.Verbose {
		log = log.Level(zerolog.DebugLevel)
	}
	path := expandHome(c.ConfigFile)
	cfg, err := tracker.LoadConfig(path)
	if err != nil {
		return exitcode.Wrap(exitcode.Config, err)
	}
	cfg.Override(tracker.StateManager{Type: c.Type, Name: c.Name, RootPath: c.Rootpath, HostPort: c.Hostport, TunnelHost: c.Tunnelhost})
	if err := cfg.Validate(); err != nil {
		if _, serr := os.Stat(path); os.IsNotExist(serr) {
			// Heron's rule: no file means the flags alone define the state manager.
			err = fmt.Errorf("no tracker config at %s, and the flags do not define a state manager: %w", path, err)
		}
		return exitcode.WithHint(exitcode.Wrap(exitcode.Config, err),
			"write a heron_tracker.yaml (see conf/tracker/heron_tracker.yaml) or pass --type, --name and --rootpath (and --hostport for zookeeper)")
	}
	return trackerapi.Serve(env.Ctx, trackerapi.ServeOptions{Config: cfg, Bind: c.Bind, Port: c.Port, MemoryLimitMB: c.MemoryLimit}, log, env.Stdout)
}
