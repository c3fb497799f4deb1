// Package clusterflags is the kong flag group that selects a cluster's
// configuration and state manager, shared by the binaries that only need to
// reach state (heron-statemgr, heron-tracker's --cluster mode, tests).
package clusterflags

import (
	"context"
	"time"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/statemgr"
	_ "github.com/heronkit/heronkit/lib/statemgr/all" // backends
)

// StateFlags choose a state manager either by URI or through a cluster's
// statemgr.yaml.
type StateFlags struct {
	StateManager   string        `name:"state-manager" short:"s" env:"HERON_STATEMGR" placeholder:"URI" help:"State manager URI, file:///path or zk://host:2181[,host:2181]/root; wins over --cluster."`
	Cluster        string        `name:"cluster" short:"c" default:"local" env:"HERON_CLUSTER" help:"Cluster whose statemgr.yaml names the state manager."`
	ConfigPath     string        `name:"config-path" type:"path" placeholder:"DIR" help:"Folder holding the cluster folders (default: $HERON_CONF_PATH, ../conf beside the binary, ~/.heron/conf, then the built-in clusters)."`
	ConfigProperty []string      `name:"config-property" short:"D" placeholder:"KEY=VALUE" help:"Override a cluster config key; repeatable."`
	Timeout        time.Duration `name:"timeout" default:"10s" help:"How long to wait for the state manager to answer."`
}

// Load loads the selected cluster's configuration.
func (f *StateFlags) Load() (*config.Config, error) {
	path := f.ConfigPath
	if path == "" {
		p, err := config.FindConfigPath(f.Cluster)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Config, err)
		}
		path = p
	}
	cfg, err := config.Load(config.LoadOptions{ConfigPath: path, Cluster: f.Cluster, Properties: f.ConfigProperty})
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	return cfg, nil
}

// URI resolves the state manager URI and its options.
func (f *StateFlags) URI() (string, statemgr.Options, error) {
	opts := statemgr.DefaultOptions()
	uri := f.StateManager
	if uri == "" {
		cfg, err := f.Load()
		if err != nil {
			return "", opts, err
		}
		u, o, err := config.StateManagerURI(cfg)
		if err != nil {
			return "", opts, exitcode.Wrap(exitcode.Config, err)
		}
		uri, opts = u, o
	}
	if f.Timeout > 0 {
		opts.ConnectionTimeout = f.Timeout
	}
	return uri, opts, nil
}

// Open opens the selected state manager.
func (f *StateFlags) Open(ctx context.Context) (statemgr.Store, error) {
	uri, opts, err := f.URI()
	if err != nil {
		return nil, err
	}
	s, err := statemgr.Open(ctx, uri, opts)
	if err != nil {
		if exitcode.Code(err) == exitcode.Failure {
			err = exitcode.Wrap(exitcode.Config, err)
		}
		return nil, err
	}
	return s, nil
}
