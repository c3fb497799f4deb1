package nomad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/topology"
)

// Scheduler runs kill, restart and update of a topology on Nomad from the
// client, as Heron's library-mode NomadScheduler does (there is no
// scheduler process to call).
type Scheduler struct {
	cfg   *config.Config
	st    *Settings
	c     *Client
	store statemgr.Store
	log   zerolog.Logger
}

// NewScheduler makes the library-mode scheduler of a cluster config.
func NewScheduler(cfg *config.Config, store statemgr.Store, log zerolog.Logger) (*Scheduler, error) {
	st, err := ReadSettings(cfg)
	if err != nil {
		return nil, err
	}
	c, err := NewClient(st)
	if err != nil {
		return nil, err
	}
	return &Scheduler{cfg: cfg, st: st, c: c, store: store, log: log}, nil
}

// Client is the scheduler's Nomad API client.
func (s *Scheduler) Client() *Client { return s.c }

// Settings are the scheduler's Nomad settings.
func (s *Scheduler) Settings() *Settings { return s.st }

// job reads the topology's job and checks that it is one of ours for this
// topology: a job of the same id made by someone else is never touched.
func (s *Scheduler) job(ctx context.Context, name string) (*JobInfo, error) {
	id := s.st.JobID(name)
	j, err := s.c.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	if got := j.Meta[MetaTopologyName]; got != name {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Conflict, "nomad job %s is not topology %s's (its %s meta is %q)", id, name, MetaTopologyName, got),
			"set "+KeyJobPrefix+" so that topology jobs get ids of their own")
	}
	return j, nil
}

// Kill deregisters and purges the topology's job (Nomad removes its service
// registrations with its allocations) and waits until every container has
// stopped. A topology without a job is killed already.
func (s *Scheduler) Kill(ctx context.Context, name string) error {
	id := s.st.JobID(name)
	if _, err := s.job(ctx, name); errors.Is(err, ErrNotFound) {
		s.log.Warn().Str("job", id).Msg("no nomad job for the topology; nothing to stop")
		return waitStopped(ctx, s.c, id, s.st.KillTimeout)
	} else if err != nil {
		return err
	}
	if err := purge(ctx, s.c, id, s.st.KillTimeout); err != nil {
		return fmt.Errorf("kill nomad job %s: %w", id, err)
	}
	s.log.Info().Str("job", id).Msg("nomad job purged; every container stopped")
	return nil
}

// containerIndexes maps the job's task groups to container indexes.
func containerIndexes(j *JobInfo) map[string]int {
	m := map[string]int{}
	for _, g := range j.TaskGroups {
		if i, err := strconv.Atoi(g.Meta[MetaContainerIndex]); err == nil {
			m[g.Name] = i
		}
	}
	return m
}

// Restart restarts one container's allocation in place (same node, same
// ports), or every container's with -1. Unlike Heron's, container 0 can be
// restarted on its own.
func (s *Scheduler) Restart(ctx context.Context, name string, container int) error {
	j, err := s.job(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return exitcode.Errorf(exitcode.NotFound, "topology %s has no nomad job %s", name, s.st.JobID(name))
	}
	if err != nil {
		return err
	}
	idx := containerIndexes(j)
	allocs, err := s.c.Allocations(ctx, j.ID)
	if err != nil {
		return err
	}
	var targets []Alloc
	for _, a := range allocs {
		i, ok := idx[a.TaskGroup]
		if ok && a.DesiredStatus == "run" && !a.Terminal() && (container < 0 || i == container) {
			targets = append(targets, a)
		}
	}
	if len(targets) == 0 {
		return exitcode.Errorf(exitcode.NotFound, "topology %s has no running container %d", name, container)
	}
	for _, a := range targets {
		if err := s.c.RestartAlloc(ctx, a.ID); err != nil {
			return fmt.Errorf("restart container %s (allocation %s): %w", a.TaskGroup, a.ID, err)
		}
		s.log.Info().Str("group", a.TaskGroup).Str("alloc", a.ID).Msg("container restarted")
	}
	return nil
}

// Update moves the topology to the proposed packing plan, as Heron's
// UpdateTopologyManager does, with Nomad as a scalable scheduler: take the
// update lock, check the current plan, deactivate a running topology, add
// task groups for new containers, write the new plan, wait for the physical
// plan and reactivate, then remove the task groups of removed containers.
// Groups of containers that stay are left as they are (no restart).
func (s *Scheduler) Update(ctx context.Context, name string, current, proposed *systempb.PackingPlan) error {
	unlock, err := s.store.Lock(ctx, name, "updateTopology", 5*time.Second)
	if err != nil {
		return exitcode.Errorf(exitcode.Conflict, "another update of %s is in progress: %v", name, err)
	}
	defer unlock()
	c := nodes.Client{Store: s.store}
	stored, err := c.PackingPlan(ctx, name)
	if err != nil {
		return err
	}
	if !proto.Equal(stored, current) {
		return exitcode.Errorf(exitcode.Conflict, "the packing plan of %s changed since the update was computed; retry", name)
	}
	cur, next := packing.FromProto(current), packing.FromProto(proposed)
	var add, remove []int
	for _, id := range next.ContainerIDs() {
		if cur.Container(id) == nil {
			add = append(add, id)
		}
	}
	for _, id := range cur.ContainerIDs() {
		if next.Container(id) == nil {
			remove = append(remove, id)
		}
	}
	top, err := c.Topology(ctx, name)
	if err != nil {
		return err
	}
	running := false
	if pp, err := c.PhysicalPlan(ctx, name); err == nil && pp.GetTopology().GetState() == apipb.TopologyState_RUNNING {
		running = true
	}
	if running {
		if err := scheduler.Deactivate(ctx, s.store, name); err != nil {
			return fmt.Errorf("deactivate before the update: %w", err)
		}
		if err := sleep(ctx, topoSeconds(top, "topology.update.deactivate.wait.secs", 0)); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		if err := s.changeGroups(ctx, name, top, next, add, nil); err != nil {
			return err
		}
	}
	if err := c.Set(ctx, statemgr.PackingPlans, name, proposed); err != nil {
		return fmt.Errorf("write the new packing plan: %w", err)
	}
	s.log.Info().Ints("added", add).Ints("removed", remove).Msg("packing plan updated")
	if running {
		if err := waitPhysicalPlan(ctx, s.store, name, next, topoSeconds(top, "topology.update.reactivate.wait.secs", 600*time.Second)); err != nil {
			return err
		}
		if err := scheduler.Activate(ctx, s.store, name); err != nil {
			return fmt.Errorf("reactivate after the update: %w", err)
		}
	}
	if len(remove) > 0 {
		if err := s.changeGroups(ctx, name, top, next, nil, remove); err != nil {
			return err
		}
	}
	return nil
}

// changeGroups registers the job again with groups added for new
// containers (built from the proposed plan and what the job's meta kept of
// the submit) and groups of removed containers dropped. The job is
// re-registered only if nobody changed it meanwhile.
func (s *Scheduler) changeGroups(ctx context.Context, name string, top *apipb.Topology, next *packing.Plan, add, remove []int) error {
	info, err := s.job(ctx, name)
	if err != nil {
		return err
	}
	raw, err := s.c.RawJob(ctx, info.ID)
	if err != nil {
		return err
	}
	groups, _ := raw["TaskGroups"].([]any)
	idx := containerIndexes(info)
	var kept []any
	for _, g := range groups {
		gm, _ := g.(map[string]any)
		n, _ := gm["Name"].(string)
		if i, ok := idx[n]; ok && slices.Contains(remove, i) {
			continue
		}
		kept = append(kept, g)
	}
	if len(add) > 0 {
		cfg := s.cfg.With(map[string]any{
			config.KeyTopologyName: name, config.KeyTopologyID: top.GetId(),
			scheduler.KeyPackageURI: info.Meta[MetaPackageURI], scheduler.KeyBinaryFile: info.Meta[MetaBinaryFile],
			scheduler.KeyDefnFile: info.Meta[MetaDefnFile],
		})
		spec, err := SpecFor(ctx, cfg, top, next, s.c)
		if err != nil {
			return err
		}
		for _, id := range add {
			g, err := spec.Group(id)
			if err != nil {
				return err
			}
			var gm map[string]any
			b, _ := json.Marshal(g)
			if err := json.Unmarshal(b, &gm); err != nil {
				return err
			}
			kept = append(kept, gm)
		}
	}
	raw["TaskGroups"] = kept
	// Nomad answers with the job-level update strategy zeroed (the job has
	// none); sent back, it would be merged into the new groups as invalid.
	delete(raw, "Update")
	reg, err := s.c.Register(ctx, raw, true, info.JobModifyIndex)
	if err != nil {
		return fmt.Errorf("update nomad job %s: %w", info.ID, err)
	}
	if err := waitPlaced(ctx, s.c, reg.EvalID); err != nil {
		return fmt.Errorf("nomad job %s: %w", info.ID, err)
	}
	return nil
}

// waitPhysicalPlan waits until the topology manager's physical plan has the
// new plan's instances and stream managers.
func waitPhysicalPlan(ctx context.Context, store statemgr.Store, name string, plan *packing.Plan, timeout time.Duration) error {
	want := 0
	for _, c := range plan.Containers {
		want += len(c.Instances)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pp, err := nodes.Client{Store: store}.PhysicalPlan(ctx, name)
		if err == nil && len(pp.GetInstances()) == want && len(pp.GetStmgrs()) == len(plan.Containers) {
			return nil
		}
		if err != nil && !errors.Is(err, statemgr.ErrNotFound) && ctx.Err() == nil {
			return err
		}
		if serr := sleep(ctx, 250*time.Millisecond); serr != nil {
			if errors.Is(serr, context.DeadlineExceeded) {
				return exitcode.Errorf(exitcode.Unavailable, "the physical plan of %s did not follow the new packing plan in %s; activate it by hand when it does", name, timeout)
			}
			return serr
		}
	}
}

func topoSeconds(t *apipb.Topology, key string, def time.Duration) time.Duration {
	v, ok := topology.ConfigValue(t, key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return def
	}
	return time.Duration(n) * time.Second
}
