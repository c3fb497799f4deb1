// Package scheduler is the contract between the topology lifecycle
// (lib/submit) and the schedulers that run containers: a Launcher starts a
// topology's containers (Heron's ILauncher, run by the submitting client),
// and a running topology's scheduler is reached over Heron's scheduler HTTP
// protocol (/kill, /restart, /update with protobuf bodies) at the endpoint
// its SchedulerLocation names. It also builds the executor command line
// exactly as Heron's SchedulerUtils does, for every scheduler.
//
// Launchers register by the short name of heron.class.launcher ("local",
// "nomad", ...); see lib/scheduler/local for the local one.
package scheduler

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/statemgr"
)

// Job is one topology to launch.
type Job struct {
	// Topology is the definition as stored in the state manager.
	Topology *apipb.Topology
	// Plan is the packing plan as stored.
	Plan *packing.Plan
	// Config is the client's (local-mode) config with the topology keys:
	// heron.topology.name and .id, KeyPackageURI, KeyBinaryFile, KeyDefnFile.
	Config *config.Config
	// Store is the cluster's state manager.
	Store statemgr.Store
	Log   zerolog.Logger
}

// Launcher starts a topology's containers (Heron's ILauncher).
type Launcher interface {
	// Launch starts the containers and returns once the scheduler has taken
	// the topology over (for service schedulers: once its SchedulerLocation
	// is written). On error nothing of the launch may stay running.
	Launch(ctx context.Context, job *Job) (*Launched, error)
	// DryRun says what Launch would do, without doing it.
	DryRun(job *Job) (*Launched, error)
}

// Launched describes a launch, for the JSON output of submit.
type Launched struct {
	Scheduler string `json:"scheduler"`
	// WorkingDirectory is where the containers run (local scheduler).
	WorkingDirectory string `json:"working_directory,omitempty"`
	// SchedulerEndpoint is the scheduler's host:port (service schedulers).
	SchedulerEndpoint string `json:"scheduler_endpoint,omitempty"`
	// SchedulerPID is the local scheduler process.
	SchedulerPID int `json:"scheduler_pid,omitempty"`
	// SchedulerCommand is the scheduler process's command line.
	SchedulerCommand []string `json:"scheduler_command,omitempty"`
	// Executors are the containers' command lines by shard (dry runs show
	// port placeholders).
	Executors []Executor `json:"executors,omitempty"`
	// Job is the scheduler's own job description, e.g. the Nomad job JSON.
	Job any `json:"job,omitempty"`
}

// Executor is one container's process.
type Executor struct {
	Shard   int      `json:"shard"`
	Command []string `json:"command"`
	PID     int      `json:"pid,omitempty"`
}

// LauncherFactory makes a launcher from the client config.
type LauncherFactory func(cfg *config.Config) (Launcher, error)

var (
	mu        sync.RWMutex
	launchers = map[string]LauncherFactory{}
)

// Register makes a launcher available under its short name; twice panics.
func Register(name string, f LauncherFactory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := launchers[name]; dup {
		panic("scheduler: launcher registered twice: " + name)
	}
	launchers[name] = f
}

// Names lists the registered launchers.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(maps.Keys(launchers))
}

// NewLauncher makes the launcher heron.class.launcher names.
func NewLauncher(cfg *config.Config) (Launcher, error) {
	name, err := cfg.ClassName(config.KeyLauncherClass)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	mu.RLock()
	f, ok := launchers[name]
	mu.RUnlock()
	if !ok {
		return nil, exitcode.Errorf(exitcode.Config, "launcher %q is not available in this build (have %s)", name, strings.Join(Names(), ", "))
	}
	return f(cfg)
}
