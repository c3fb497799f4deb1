package apiserver

import (
	"context"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/serviceclient"
)

// Target names one topology, as Heron's /topologies/{cluster}/{role}/{env}/{name} paths do.
type Target struct {
	Cluster, Role, Environ, Name string
}

// SubmitJob is one submit, prepared by the server the way Heron's API server
// prepares it: the uploaded files saved in WorkDir beside heron-conf/ (the
// server's cluster folder with the overrides), and topology.tar.gz built
// from them.
type SubmitJob struct {
	Target
	User string
	// WorkDir holds <name>.defn, the topology's files, heron-conf/ and
	// topology.tar.gz; the server deletes it after the submit.
	WorkDir string
	// DefnFile is WorkDir/<name>.defn; PackageFile is WorkDir/topology.tar.gz.
	DefnFile, PackageFile string
	// TopologyFile is the base name of the topology file the client sent
	// (Heron's topology_bin).
	TopologyFile string
	// Config is the server's base configuration with the request's keys.
	Config *config.Config
	// Overrides are the submit's extra form fields (Heron: every unknown
	// field is a config override), already in Config and in
	// heron-conf/override.yaml.
	Overrides map[string]string

	DryRun, Verbose, VerboseGC bool
	DryRunFormat               string
}

// UpdateJob is one update request (Heron's form fields).
type UpdateJob struct {
	Target
	Config *config.Config
	// ComponentParallelism holds "component:N" items; it wins over
	// ContainerNumber, as in Heron.
	ComponentParallelism []string
	ContainerNumber      string
	// RuntimeConfig holds "[component:]key:value" items (Heron's server
	// ignores them; we apply them).
	RuntimeConfig []string
	DryRun        bool
	DryRunFormat  string
}

// TopologyInfo is one topology and its state, for the listing Heron lacks.
// Its JSON is the wire shape the client reads, so both share one type.
type TopologyInfo = serviceclient.Topology

// Lifecycle runs the topology commands for the server. The default is the
// lifecycle library heron-submit runs (lib/submit), in-process, with the
// server's configuration; tests can give their own.
type Lifecycle interface {
	// Submit launches a prepared topology. A dry run returns what would be
	// done (any JSON value) instead.
	Submit(ctx context.Context, job *SubmitJob) (dryRun any, err error)
	Kill(ctx context.Context, cfg *config.Config, t Target) error
	Activate(ctx context.Context, cfg *config.Config, t Target) error
	Deactivate(ctx context.Context, cfg *config.Config, t Target) error
	// Restart restarts one container, or all when container is -1.
	Restart(ctx context.Context, cfg *config.Config, t Target, container int) error
	Update(ctx context.Context, job *UpdateJob) (dryRun any, err error)
	// List reports every topology of the cluster's state manager.
	List(ctx context.Context, cfg *config.Config) ([]TopologyInfo, error)
}
