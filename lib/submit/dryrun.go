package submit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/scheduler/local"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
)

// Dry runs of kill, activate, deactivate and restart make every check and
// every read the command makes, then describe the calls and deletes it
// would make instead of making them.

// SchedulerCall is a request to a topology's scheduler. In service mode
// (heron.scheduler.is.service, the local scheduler) it is Heron's scheduler
// HTTP protocol: POST of the serialized request to the endpoint of the
// topology's SchedulerLocation. In library mode (Nomad) the client runs the
// scheduler in-process and there is no URL.
type SchedulerCall struct {
	// Scheduler is the short name of heron.class.scheduler ("local", "nomad").
	Scheduler string `json:"scheduler"`
	// Mode is "service" (over HTTP) or "library" (in-process).
	Mode string `json:"mode"`
	// Operation is "kill" or "restart".
	Operation string `json:"operation"`
	Method    string `json:"method,omitempty"`
	URL       string `json:"url,omitempty"`
	// Request is the KillTopologyRequest or RestartTopologyRequest, as JSON.
	Request json.RawMessage `json:"request"`
}

// ControllerCall is a request to the topology manager's controller, from
// the topology's TManagerLocation (Heron's TManagerUtils).
type ControllerCall struct {
	Method     string `json:"method"`
	URL        string `json:"url"`
	TopologyID string `json:"topology_id"`
}

// node is one state node.
type node struct {
	kind statemgr.Kind
	name string
}

func (n node) String() string { return string(n.kind) + "/" + n.name }

// killOrder is the order in which Heron's runtime manager deletes a killed
// topology's state; the update lock goes just before the execution state.
var killOrder = []statemgr.Kind{statemgr.TManagers, statemgr.MetricsCaches, statemgr.PackingPlans, statemgr.PhysicalPlans,
	statemgr.Schedulers, statemgr.ExecutionState, statemgr.Topologies}

// killSteps lists the topology's existing state nodes in kill order.
func killSteps(ctx context.Context, store statemgr.Store, name string) ([]node, error) {
	var out []node
	for _, k := range killOrder {
		if k == statemgr.ExecutionState {
			// A lock may be a folder (file state) whose read fails; any
			// answer but "not found" means it is there.
			lock := statemgr.LockPath(name, "updateTopology")
			if _, err := store.Get(ctx, statemgr.Locks, lock); !errors.Is(err, statemgr.ErrNotFound) {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				out = append(out, node{statemgr.Locks, lock})
			}
		}
		if _, err := store.Get(ctx, k, name); err == nil {
			out = append(out, node{k, name})
		}
	}
	return out, nil
}

// schedulerCall describes the request that scheduler.KillTopology or
// RestartTopology would send for path, with the same errors when the
// scheduler cannot be reached (no location, a library-mode endpoint in
// service mode, a scheduler without library mode). Building a library
// scheduler makes no network call.
func schedulerCall(ctx context.Context, opts Options, cfg *config.Config, store statemgr.Store, name, path string, req proto.Message) (*SchedulerCall, error) {
	body, err := nodes.ToJSON(req)
	if err != nil {
		return nil, err
	}
	sched, _ := cfg.ClassName(config.KeySchedulerClass)
	call := &SchedulerCall{Scheduler: sched, Operation: strings.TrimPrefix(path, "/"), Request: body}
	_, lib, err := scheduler.NewLibrary(cfg, store, opts.Log)
	if err != nil {
		return nil, err
	}
	if lib {
		call.Mode = "library"
		return call, nil
	}
	ep, err := scheduler.Endpoint(ctx, store, name)
	if err != nil {
		return nil, err
	}
	call.Mode, call.Method = "service", http.MethodPost
	call.URL = (&url.URL{Scheme: "http", Host: ep, Path: path}).String()
	return call, nil
}

// controllerCall describes the request scheduler.Activate or Deactivate
// would send (the same URL, the same error without a location).
func controllerCall(ctx context.Context, c nodes.Client, name, verb string) (*ControllerCall, error) {
	loc, err := c.TManagerLocation(ctx, name)
	if errors.Is(err, statemgr.ErrNotFound) {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "topology %s has no topology manager location yet", name),
			"wait for the topology to start (heron-statemgr get tmanagerlocation ...) and retry")
	}
	if err != nil {
		return nil, err
	}
	return &ControllerCall{Method: http.MethodGet, TopologyID: loc.GetTopologyId(),
		URL: fmt.Sprintf("http://%s:%d/%s?topologyid=%s", loc.GetHost(), loc.GetControllerPort(), verb, url.QueryEscape(loc.GetTopologyId()))}, nil
}

// currentState is the physical plan's state, or "" before there is one.
func currentState(ctx context.Context, store statemgr.Store, name string) string {
	st, err := TopologyState(ctx, store, name)
	if err != nil {
		return ""
	}
	return st.String()
}

// localWorkingDirectory is the topology's folder when the cluster runs the
// local scheduler.
func localWorkingDirectory(cfg *config.Config) (string, bool) {
	if n, err := cfg.ClassName(config.KeySchedulerClass); err != nil || n != "local" {
		return "", false
	}
	wd, err := local.WorkingDirectory(cfg)
	return wd, err == nil
}
