package submit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/scheduler/local"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
)

// Result is the outcome of a runtime command.
type Result struct {
	Action   string `json:"action"`
	Topology string `json:"topology"`
	Cluster  string `json:"cluster"`
	Role     string `json:"role"`
	Environ  string `json:"environ"`
	DryRun   bool   `json:"dry_run,omitempty"`
	// State is the topology's state after the command, when known (after
	// a dry run: the current one, since nothing changed).
	State string `json:"state,omitempty"`
	// Container is the restarted container (-1: all).
	Container *int `json:"container,omitempty"`
	// Deleted lists the state nodes a kill removed.
	Deleted []string `json:"deleted,omitempty"`
	// Deletes lists, in order, the state nodes a dry run would delete.
	Deletes []string `json:"deletes,omitempty"`
	// SchedulerCall is the scheduler request a kill or restart dry run
	// would make.
	SchedulerCall *SchedulerCall `json:"scheduler_call,omitempty"`
	// ControllerCall is the topology manager request an activate or
	// deactivate dry run would make.
	ControllerCall *ControllerCall `json:"controller_call,omitempty"`
	// Note says why nothing changed (already in the wanted state).
	Note string `json:"note,omitempty"`
	// Parallelism, Current and Proposed describe an update.
	Parallelism map[string]int `json:"parallelism,omitempty"`
	Current     *packing.Plan  `json:"current_packing_plan,omitempty"`
	Proposed    *packing.Plan  `json:"proposed_packing_plan,omitempty"`
}

// session is an open state manager and the checks every runtime command
// makes (Heron's RuntimeManagerMain.validateRuntimeManage).
type session struct {
	cfg   *config.Config
	store statemgr.Store
	c     nodes.Client
	name  string
	res   *Result
}

func open(ctx context.Context, cfg *config.Config, name, action string) (*session, error) {
	if err := statemgr.ValidTopologyName(name); err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cl, r, e := triple(cfg)
	return &session{cfg: cfg, store: store, c: nodes.Client{Store: store}, name: name,
		res: &Result{Action: action, Topology: name, Cluster: cl, Role: r, Environ: e}}, nil
}

// check requires the topology (unless it is a kill) and a matching
// cluster/role/environ.
func (s *session) check(ctx context.Context, mustExist bool) error {
	_, err := s.store.Get(ctx, statemgr.Topologies, s.name)
	switch {
	case errors.Is(err, statemgr.ErrNotFound) && mustExist:
		return exitcode.WithHint(exitcode.Errorf(exitcode.NotFound, "topology %s does not exist in cluster %s", s.name, s.res.Cluster),
			"list the running topologies with: heron-submit list "+s.res.Cluster)
	case err != nil && !errors.Is(err, statemgr.ErrNotFound):
		return err
	}
	es, err := s.c.ExecutionState(ctx, s.name)
	if errors.Is(err, statemgr.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if es.GetCluster() != s.res.Cluster || es.GetRole() != s.res.Role || es.GetEnviron() != s.res.Environ {
		return exitcode.Errorf(exitcode.Conflict, "cluster/role/environ does not match: topology %s is running at %s/%s/%s, not %s/%s/%s",
			s.name, es.GetCluster(), es.GetRole(), es.GetEnviron(), s.res.Cluster, s.res.Role, s.res.Environ)
	}
	return nil
}

// Kill stops the topology through its scheduler and removes its state in
// Heron's order (topology last, since "running" means "has a topology node").
func Kill(ctx context.Context, opts Options, cfg *config.Config, name string) (*Result, error) {
	return kill(ctx, opts, cfg, name, false)
}

// KillDryRun makes Kill's checks and returns the scheduler call it would
// make and the state nodes it would delete, in order; it changes nothing.
func KillDryRun(ctx context.Context, opts Options, cfg *config.Config, name string) (*Result, error) {
	return kill(ctx, opts, cfg, name, true)
}

func kill(ctx context.Context, opts Options, cfg *config.Config, name string, dry bool) (*Result, error) {
	s, err := open(ctx, cfg, name, "kill")
	if err != nil {
		return nil, err
	}
	defer s.store.Close()
	s.res.DryRun = dry
	if err := s.check(ctx, false); err != nil {
		return nil, err
	}
	steps, err := killSteps(ctx, s.store, name)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(steps, func(n node) bool { return n.kind != statemgr.Locks }) {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.NotFound, "topology %s does not exist in cluster %s", name, s.res.Cluster),
			"list the running topologies with: heron-submit list "+s.res.Cluster)
	}
	hasScheduler := slices.ContainsFunc(steps, func(n node) bool { return n.kind == statemgr.Schedulers })
	if dry {
		if hasScheduler {
			if s.res.SchedulerCall, err = schedulerCall(ctx, opts, cfg, s.store, name, scheduler.PathKill,
				&schedulerpb.KillTopologyRequest{TopologyName: proto.String(name)}); err != nil {
				return nil, err
			}
		} else if wd, ok := localWorkingDirectory(cfg); ok {
			s.res.Note = "no scheduler location: the kill would stop the processes left by the pid files in " + wd
		}
		for _, n := range steps {
			s.res.Deletes = append(s.res.Deletes, n.String())
		}
		s.res.State = currentState(ctx, s.store, name)
		return s.res, nil
	}
	if hasScheduler {
		if err := scheduler.KillTopology(ctx, cfg, s.store, opts.Log, name); err != nil {
			if exitcode.Code(err) != exitcode.Unavailable || !forceStopLocal(opts, cfg) {
				return nil, fmt.Errorf("failed to kill topology %s with its scheduler; retry the kill later: %w", name, err)
			}
			opts.Log.Warn().Err(err).Msg("scheduler unreachable; stopped the local processes directly")
		}
	} else if forceStopLocal(opts, cfg) {
		opts.Log.Warn().Msg("no scheduler location; stopped leftover local processes")
	}
	// The lock goes whether or not it was seen (it may have been taken
	// since); it is reported only when it existed.
	lock := statemgr.LockPath(name, "updateTopology")
	for _, k := range killOrder {
		if k == statemgr.ExecutionState {
			if err := s.store.Delete(ctx, statemgr.Locks, lock); err != nil {
				return nil, fmt.Errorf("delete %s/%s: %w", statemgr.Locks, lock, err)
			}
			if slices.Contains(steps, node{statemgr.Locks, lock}) {
				s.res.Deleted = append(s.res.Deleted, node{statemgr.Locks, lock}.String())
			}
		}
		n := node{k, name}
		if !slices.Contains(steps, n) {
			continue
		}
		if err := s.store.Delete(ctx, k, name); err != nil {
			return nil, fmt.Errorf("delete %s: %w", n, err)
		}
		s.res.Deleted = append(s.res.Deleted, n.String())
	}
	s.res.State = "KILLED"
	return s.res, nil
}

// forceStopLocal stops what a dead local scheduler left running, from the
// pid files in the working directory: the scheduler, then the executors'
// process groups. It reports whether the cluster uses the local scheduler.
func forceStopLocal(opts Options, cfg *config.Config) bool {
	wd, ok := localWorkingDirectory(cfg)
	if !ok {
		return false
	}
	if pid, ok := local.Running(wd); ok {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 300 && processAlive(pid); i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	pids, _ := filepath.Glob(filepath.Join(wd, "heron-executor-*.pid"))
	for _, f := range pids {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 && processAlive(pid) {
			opts.Log.Warn().Int("pid", pid).Str("file", f).Msg("stopping a leftover executor")
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return true
}

func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// Activate runs a paused topology (through its topology manager).
func Activate(ctx context.Context, opts Options, cfg *config.Config, name string) (*Result, error) {
	return setState(ctx, opts, cfg, name, "activate", apipb.TopologyState_PAUSED, apipb.TopologyState_RUNNING, scheduler.Activate, false)
}

// ActivateDryRun makes Activate's checks and returns the topology manager
// request it would make; it changes nothing.
func ActivateDryRun(ctx context.Context, opts Options, cfg *config.Config, name string) (*Result, error) {
	return setState(ctx, opts, cfg, name, "activate", apipb.TopologyState_PAUSED, apipb.TopologyState_RUNNING, scheduler.Activate, true)
}

// Deactivate pauses a running topology (through its topology manager).
func Deactivate(ctx context.Context, opts Options, cfg *config.Config, name string) (*Result, error) {
	return setState(ctx, opts, cfg, name, "deactivate", apipb.TopologyState_RUNNING, apipb.TopologyState_PAUSED, scheduler.Deactivate, false)
}

// DeactivateDryRun makes Deactivate's checks and returns the topology
// manager request it would make; it changes nothing.
func DeactivateDryRun(ctx context.Context, opts Options, cfg *config.Config, name string) (*Result, error) {
	return setState(ctx, opts, cfg, name, "deactivate", apipb.TopologyState_RUNNING, apipb.TopologyState_PAUSED, scheduler.Deactivate, true)
}

func setState(ctx context.Context, opts Options, cfg *config.Config, name, action string, from, to apipb.TopologyState,
	call func(context.Context, statemgr.Store, string) error, dry bool) (*Result, error) {
	s, err := open(ctx, cfg, name, action)
	if err != nil {
		return nil, err
	}
	defer s.store.Close()
	s.res.DryRun = dry
	if err := s.check(ctx, true); err != nil {
		return nil, err
	}
	pp, err := s.c.PhysicalPlan(ctx, name)
	if errors.Is(err, statemgr.ErrNotFound) {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "topology %s has no physical plan yet", name),
			"wait until it has started, then retry")
	}
	if err != nil {
		return nil, err
	}
	switch st := pp.GetTopology().GetState(); st {
	case to:
		opts.Log.Warn().Str("state", st.String()).Msg("topology is already in that state")
		s.res.State, s.res.Note = to.String(), "already "+strings.ToLower(to.String())
		return s.res, nil
	case from:
	default:
		return nil, exitcode.Errorf(exitcode.Conflict, "topology %s is %s; %s needs it %s", name, st, action, from)
	}
	if dry {
		if s.res.ControllerCall, err = controllerCall(ctx, s.c, name, action); err != nil {
			return nil, err
		}
		s.res.State = from.String()
		return s.res, nil
	}
	if err := call(ctx, s.store, name); err != nil {
		return nil, err
	}
	s.res.State = to.String()
	return s.res, nil
}

// Restart restarts one container (or all, with -1) through the scheduler;
// for the topology manager's container the old location goes first, as
// the topology manager refuses to start while one exists.
func Restart(ctx context.Context, opts Options, cfg *config.Config, name string, container int) (*Result, error) {
	return restart(ctx, opts, cfg, name, container, false)
}

// RestartDryRun makes Restart's checks and returns the state node it would
// delete and the scheduler call it would make; it changes nothing.
func RestartDryRun(ctx context.Context, opts Options, cfg *config.Config, name string, container int) (*Result, error) {
	return restart(ctx, opts, cfg, name, container, true)
}

func restart(ctx context.Context, opts Options, cfg *config.Config, name string, container int, dry bool) (*Result, error) {
	s, err := open(ctx, cfg, name, "restart")
	if err != nil {
		return nil, err
	}
	defer s.store.Close()
	s.res.DryRun = dry
	if container < -1 {
		return nil, exitcode.Errorf(exitcode.Usage, "container %d: give a container index (0 is the topology manager) or -1 for all", container)
	}
	if err := s.check(ctx, true); err != nil {
		return nil, err
	}
	if container > 0 {
		pp, err := s.c.PackingPlan(ctx, name)
		if err != nil {
			return nil, err
		}
		if plan := packing.FromProto(pp); plan.Container(container) == nil {
			return nil, exitcode.Errorf(exitcode.NotFound, "topology %s has no container %d (0 is the topology manager; the others are %v)", name, container, plan.ContainerIDs())
		}
	}
	s.res.Container = &container
	clearTManager := container == -1 || container == 0
	if dry {
		if clearTManager {
			if _, err := s.store.Get(ctx, statemgr.TManagers, name); err == nil {
				s.res.Deletes = []string{node{statemgr.TManagers, name}.String()}
			} else if !errors.Is(err, statemgr.ErrNotFound) {
				return nil, err
			}
		}
		if s.res.SchedulerCall, err = schedulerCall(ctx, opts, cfg, s.store, name, scheduler.PathRestart,
			&schedulerpb.RestartTopologyRequest{TopologyName: proto.String(name), ContainerIndex: proto.Int32(int32(container))}); err != nil {
			return nil, err
		}
		s.res.State = currentState(ctx, s.store, name)
		return s.res, nil
	}
	if clearTManager {
		if err := s.store.Delete(ctx, statemgr.TManagers, name); err != nil {
			return nil, fmt.Errorf("failed to clear the topology manager location: %w", err)
		}
	}
	if err := scheduler.RestartTopology(ctx, cfg, s.store, opts.Log, name, container); err != nil {
		return nil, err
	}
	return s.res, nil
}

// UpdateRequest changes component parallelism and/or the container count.
type UpdateRequest struct {
	// Parallelism maps components to their new instance counts.
	Parallelism map[string]int
	// Containers, when > 0, asks for that many containers.
	Containers int
	DryRun     bool
}

// ParseParallelism reads --component-parallelism NAME:N arguments.
func ParseParallelism(args []string) (map[string]int, error) {
	out := map[string]int{}
	for _, a := range args {
		name, n, ok := strings.Cut(a, ":")
		v, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || strings.ContainsAny(name, " ,:") {
			return nil, exitcode.Errorf(exitcode.Usage, "--component-parallelism %q: want COMPONENT:N", a)
		}
		if v < 1 {
			return nil, exitcode.Errorf(exitcode.Usage, "--component-parallelism %q: the parallelism must be at least 1", a)
		}
		out[name] = v
	}
	return out, nil
}

// Update repacks with heron.class.repacking.algorithm and asks the
// scheduler to apply the new plan (it deactivates, writes the plan, waits
// for the physical plan and reactivates, as Heron's UpdateTopologyManager).
func Update(ctx context.Context, opts Options, cfg *config.Config, name string, req UpdateRequest) (*Result, error) {
	s, err := open(ctx, cfg, name, "update")
	if err != nil {
		return nil, err
	}
	defer s.store.Close()
	s.res.DryRun = req.DryRun
	if len(req.Parallelism) == 0 && req.Containers <= 0 {
		return nil, exitcode.Errorf(exitcode.Usage, "nothing to update: give --component-parallelism COMPONENT:N or --container-number N")
	}
	if err := s.check(ctx, true); err != nil {
		return nil, err
	}
	top, err := s.c.Topology(ctx, name)
	if err != nil {
		return nil, err
	}
	cur, err := s.c.PackingPlan(ctx, name)
	if err != nil {
		return nil, err
	}
	current := packing.FromProto(cur)
	counts := current.ComponentCounts()
	deltas := map[string]int{}
	for comp, n := range req.Parallelism {
		old, ok := counts[comp]
		if !ok {
			return nil, exitcode.Errorf(exitcode.NotFound, "topology %s has no component %q (it has %s)", name, comp, strings.Join(mapKeys(counts), ", "))
		}
		if n != old {
			deltas[comp] = n - old
		}
	}
	if len(deltas) == 0 && (req.Containers <= 0 || req.Containers == len(current.Containers)) {
		return nil, exitcode.Errorf(exitcode.Conflict, "the requested parallelism is the topology's current one; nothing to do")
	}
	algo, err := cfg.ClassName(config.KeyRepackingClass)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	popts, err := packing.OptionsFrom(cfg)
	if err != nil {
		return nil, err
	}
	p, err := packing.New(algo, popts)
	if err != nil {
		return nil, err
	}
	proposed, err := p.Repack(top, current, req.Containers, deltas)
	if err != nil {
		return nil, err
	}
	s.res.Parallelism = proposed.ComponentCounts()
	s.res.Current, s.res.Proposed = current, proposed
	if req.DryRun {
		return s.res, nil
	}
	if err := scheduler.UpdateTopology(ctx, cfg, s.store, opts.Log, name, cur, proposed.Proto()); err != nil {
		return nil, err
	}
	s.res.Current = nil
	return s.res, nil
}

func mapKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TopologyInfo is one entry of List.
type TopologyInfo struct {
	Name           string `json:"name"`
	ID             string `json:"id,omitempty"`
	Cluster        string `json:"cluster,omitempty"`
	Role           string `json:"role,omitempty"`
	Environ        string `json:"environ,omitempty"`
	State          string `json:"state"`
	SubmissionTime int64  `json:"submission_time,omitempty"`
	SubmissionUser string `json:"submission_user,omitempty"`
	Containers     int    `json:"containers,omitempty"`
	Instances      int    `json:"instances,omitempty"`
}

// List reports every topology in the cluster's state manager. State is the
// physical plan's (RUNNING, PAUSED), or STARTING before there is one.
func List(ctx context.Context, opts Options, cfg *config.Config) ([]TopologyInfo, error) {
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	c := nodes.Client{Store: store}
	names, err := store.List(ctx, statemgr.Topologies)
	if err != nil {
		return nil, err
	}
	out := []TopologyInfo{}
	for _, n := range names {
		info := TopologyInfo{Name: n, State: "STARTING"}
		if t, err := c.Topology(ctx, n); err == nil {
			info.ID = t.GetId()
		}
		if es, err := c.ExecutionState(ctx, n); err == nil {
			info.Cluster, info.Role, info.Environ = es.GetCluster(), es.GetRole(), es.GetEnviron()
			info.SubmissionTime, info.SubmissionUser = es.GetSubmissionTime(), es.GetSubmissionUser()
		}
		if pp, err := c.PackingPlan(ctx, n); err == nil {
			plan := packing.FromProto(pp)
			info.Containers, info.Instances = len(plan.Containers), countInstances(plan)
		}
		if pp, err := c.PhysicalPlan(ctx, n); err == nil {
			info.State = pp.GetTopology().GetState().String()
		}
		out = append(out, info)
	}
	return out, nil
}

// TopologyState reads a topology's state from its physical plan.
func TopologyState(ctx context.Context, store statemgr.Store, name string) (apipb.TopologyState, error) {
	pp, err := nodes.Client{Store: store}.PhysicalPlan(ctx, name)
	if err != nil {
		return 0, err
	}
	return pp.GetTopology().GetState(), nil
}
