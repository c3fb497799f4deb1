package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/topology"
)

func sortedKeys(m map[int]bool) []int {
	var out []int
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func joinComma(s []string) string { return strings.Join(s, ",") }

// executorPIDsLocked are the executors' pids, which os/exec reaps itself;
// s.mu is held.
func (s *supervisor) executorPIDsLocked() map[int]bool {
	m := map[int]bool{}
	for _, p := range s.procs {
		if p.cmd.Process != nil {
			m[p.cmd.Process.Pid] = true
		}
	}
	return m
}

// stopProc stops one executor's process group: SIGTERM, then SIGKILL after
// StopGrace, and waits for it.
func stopProc(p *proc) {
	pid := p.cmd.Process.Pid
	select {
	case <-p.exited:
		// Reaped already: its pid may belong to another process now.
		return
	default:
	}
	signalGroup(pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(StopGrace):
		signalGroup(pid, syscall.SIGKILL)
		<-p.exited
	}
	// Anything left in its group (children that ignored SIGTERM) goes too.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// stopAll stops every executor and every orphan, once.
func (s *supervisor) stopAll() {
	s.mu.Lock()
	s.killed = true
	procs := make([]*proc, 0, len(s.procs))
	for _, p := range s.procs {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); stopProc(p) }()
	}
	wg.Wait()
	if err := stopOrphans(&s.mu, func() map[int]bool { return nil }, StopGrace); err != nil {
		s.log.Error().Err(err).Msg("stopping orphans")
	}
}

func (s *supervisor) handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, msg func() proto.Message, do func(context.Context, proto.Message) error) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			s.requests.Lock()
			defer s.requests.Unlock()
			body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
			m := msg()
			if err == nil {
				err = proto.Unmarshal(body, m)
			}
			if err == nil {
				err = do(r.Context(), m)
			}
			if err != nil {
				s.log.Error().Err(err).Str("path", path).Msg("request failed")
			}
			b, _ := proto.Marshal(scheduler.Response(err))
			w.Header().Set("Content-Type", "application/octet-stream")
			// A complete response once flushed: after a kill the server
			// closes while this handler may not have returned yet.
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
			if path == scheduler.PathKill && err == nil {
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
				s.stopping.Do(func() { close(s.done) })
			}
		})
	}
	handle(scheduler.PathKill, func() proto.Message { return &schedulerpb.KillTopologyRequest{} },
		func(ctx context.Context, m proto.Message) error {
			if n := m.(*schedulerpb.KillTopologyRequest).GetTopologyName(); n != s.name {
				return fmt.Errorf("this scheduler runs %s, not %s", s.name, n)
			}
			s.stopAll()
			return nil
		})
	handle(scheduler.PathRestart, func() proto.Message { return &schedulerpb.RestartTopologyRequest{} },
		func(ctx context.Context, m proto.Message) error {
			req := m.(*schedulerpb.RestartTopologyRequest)
			if n := req.GetTopologyName(); n != s.name {
				return fmt.Errorf("this scheduler runs %s, not %s", s.name, n)
			}
			return s.restart(int(req.GetContainerIndex()))
		})
	handle(scheduler.PathUpdate, func() proto.Message { return &schedulerpb.UpdateTopologyRequest{} },
		func(ctx context.Context, m proto.Message) error {
			req := m.(*schedulerpb.UpdateTopologyRequest)
			return s.update(ctx, req.GetCurrentPackingPlan(), req.GetProposedPackingPlan())
		})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	return mux
}

// restart is the operator's restart of one executor (or all with -1): it
// stops them, stops what they left behind, and starts their successors
// itself, at once. That is no crash: the successors start without the
// crash backoff and with a clean count of quick deaths.
func (s *supervisor) restart(container int) error {
	s.mu.Lock()
	var ps []*proc
	for shard, p := range s.procs {
		if container == -1 || shard == container {
			p.replaced = true // its monitor leaves it to us
			ps = append(ps, p)
		}
	}
	s.mu.Unlock()
	if len(ps) == 0 {
		return exitcode.Errorf(exitcode.NotFound, "topology %s has no container %d", s.name, container)
	}
	slices.SortFunc(ps, func(a, b *proc) int { return a.shard - b.shard })
	for _, p := range ps {
		s.log.Info().Int("shard", p.shard).Msg("restarting executor")
		stopProc(p)
	}
	// What the old executors left behind in other process groups goes too.
	orphansErr := stopOrphans(&s.mu, s.executorPIDsLocked, StopGrace)
	var errs []error
	s.mu.Lock()
	for _, p := range ps {
		if s.killed || !s.wanted[p.shard] || s.procs[p.shard] != p {
			continue // killed, or removed by an update, meanwhile
		}
		if err := s.startLocked(p.shard); err != nil {
			// Back to the monitor's way: keep trying.
			p.replaced = false
			go s.relaunch(p, 5*time.Second, 0)
			errs = append(errs, fmt.Errorf("start executor %d again (the scheduler keeps trying): %w", p.shard, err))
		}
	}
	s.mu.Unlock()
	if orphansErr != nil {
		errs = append(errs, orphansErr)
	}
	return errors.Join(errs...)
}

// update is Heron's UpdateTopologyManager: take the update lock, check the
// current plan, deactivate a running topology, start new containers, write
// the new plan, wait for the physical plan to follow and reactivate, then
// stop removed containers.
func (s *supervisor) update(ctx context.Context, current, proposed *systempb.PackingPlan) error {
	unlock, err := s.store.Lock(ctx, s.name, "updateTopology", 5*time.Second)
	if err != nil {
		return exitcode.Errorf(exitcode.Conflict, "another update of %s is in progress: %v", s.name, err)
	}
	defer unlock()
	c := nodes.Client{Store: s.store}
	stored, err := c.PackingPlan(ctx, s.name)
	if err != nil {
		return err
	}
	if !proto.Equal(stored, current) {
		return exitcode.Errorf(exitcode.Conflict, "the packing plan of %s changed since the update was computed; retry", s.name)
	}
	next := packing.FromProto(proposed)
	cur := packing.FromProto(current)
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
	running := false
	if pp, err := c.PhysicalPlan(ctx, s.name); err == nil && pp.GetTopology().GetState() == apipb.TopologyState_RUNNING {
		running = true
	}
	if running {
		if err := scheduler.Deactivate(ctx, s.store, s.name); err != nil {
			return fmt.Errorf("deactivate before the update: %w", err)
		}
		if d := s.topoSeconds("topology.update.deactivate.wait.secs", 0); d > 0 {
			time.Sleep(d)
		}
	}
	s.mu.Lock()
	s.plan = next
	for _, id := range add {
		s.wanted[id] = true
		if err := s.startLocked(id); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()
	if err := c.Set(ctx, statemgr.PackingPlans, s.name, proposed); err != nil {
		return fmt.Errorf("write the new packing plan: %w", err)
	}
	s.log.Info().Ints("added", add).Ints("removed", remove).Msg("packing plan updated")
	if running {
		if err := s.waitPhysicalPlan(ctx, next); err != nil {
			return err
		}
		if err := scheduler.Activate(ctx, s.store, s.name); err != nil {
			return fmt.Errorf("reactivate after the update: %w", err)
		}
	}
	s.mu.Lock()
	var stop []*proc
	for _, id := range remove {
		s.wanted[id] = false
		if p := s.procs[id]; p != nil {
			stop = append(stop, p)
			delete(s.procs, id)
		}
	}
	s.mu.Unlock()
	for _, p := range stop {
		stopProc(p)
	}
	return nil
}

// waitPhysicalPlan waits until the topology manager's physical plan has as
// many instances as the new plan, for topology.update.reactivate.wait.secs
// (Heron's default 600 s). Heron polls every 10 s; we poll faster.
func (s *supervisor) waitPhysicalPlan(ctx context.Context, plan *packing.Plan) error {
	want := 0
	for _, c := range plan.Containers {
		want += len(c.Instances)
	}
	deadline := time.Now().Add(s.topoSeconds("topology.update.reactivate.wait.secs", 600*time.Second))
	for {
		pp, err := nodes.Client{Store: s.store}.PhysicalPlan(ctx, s.name)
		if err == nil && len(pp.GetInstances()) == want && len(pp.GetStmgrs()) == len(plan.Containers) {
			return nil
		}
		if err != nil && !errors.Is(err, statemgr.ErrNotFound) {
			return err
		}
		if time.Now().After(deadline) {
			return exitcode.Errorf(exitcode.Unavailable, "the physical plan of %s did not follow the new packing plan in time; activate it by hand when it does", s.name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *supervisor) topoSeconds(key string, def time.Duration) time.Duration {
	v, ok := topology.ConfigValue(s.topo, key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return def
	}
	return time.Duration(n) * time.Second
}
