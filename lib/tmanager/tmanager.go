// Package tmanager is the topology-manager role of heron-executor's native
// runtime (container 0): it publishes its location in the state manager,
// waits for the stream manager of every container to register, assembles
// and writes the physical plan with Heron's ids, keeps the topology state
// (activate/deactivate) and runtime config behind Heron's controller
// endpoints, and feeds the metrics the containers send into the stats store
// served on the stats port.
package tmanager

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/tmstats"
)

// Options configures a TManager.
type Options struct {
	Store statemgr.Store
	// Topology is the logical plan (topologies/<name> or the .defn).
	Topology       *apipb.Topology
	Host           string
	ServerPort     int
	ControllerPort int
	StatsPort      int
	Stats          *tmstats.Store
	Log            zerolog.Logger
}

// TManager is the topology manager of one topology.
type TManager struct {
	o     Options
	nodes nodes.Client
	log   zerolog.Logger

	mu       sync.Mutex
	topology *apipb.Topology
	packing  *systempb.PackingPlan
	digest   string // PlanDigest(packing)
	stmgrs   map[string]*stmgrConn
	pplan    *systempb.PhysicalPlan
	written  []byte
}

type stmgrConn struct {
	reg  Registration
	mu   sync.Mutex
	w    *bufio.Writer
	conn net.Conn
	// latest is the newest plan not yet sent; older unsent plans are
	// skipped, so plans never arrive out of order.
	latest []byte
	signal chan struct{}
}

func (s *stmgrConn) send(typ byte, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return writeMsg(s.w, typ, b)
}

func (s *stmgrConn) offerPlan(b []byte) {
	s.mu.Lock()
	s.latest = b
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *stmgrConn) sendPlans(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.signal:
		}
		s.mu.Lock()
		b := s.latest
		s.latest = nil
		s.mu.Unlock()
		if b == nil {
			continue
		}
		if err := s.send(msgPlan, b); err != nil {
			s.conn.Close()
			return
		}
	}
}

// New returns a topology manager; Run starts it.
func New(o Options) *TManager {
	t := &TManager{o: o, nodes: nodes.Client{Store: o.Store}, log: o.Log,
		topology: proto.Clone(o.Topology).(*apipb.Topology), stmgrs: map[string]*stmgrConn{}}
	if t.topology.State == nil {
		t.topology.State = apipb.TopologyState_RUNNING.Enum()
	}
	return t
}

// Name is the topology name.
func (t *TManager) Name() string { return t.o.Topology.GetName() }

// Run writes the topology manager location, follows the packing plan and
// serves stream managers on ln until ctx ends. It deletes the location on
// the way out.
func (t *TManager) Run(ctx context.Context, ln net.Listener) error {
	name := t.Name()
	// Keep the topology state (and runtime config) of a previous topology
	// manager of the same topology, so that a restart of container 0 does
	// not reactivate a deactivated topology.
	if old, err := t.nodes.PhysicalPlan(ctx, name); err == nil && old.GetTopology().GetId() == t.topology.GetId() {
		t.topology.State = old.GetTopology().State
		if old.GetTopology().GetTopologyConfig() != nil {
			t.topology.TopologyConfig = proto.Clone(old.GetTopology().GetTopologyConfig()).(*apipb.Config)
		}
		for i, s := range old.GetTopology().GetSpouts() {
			if i < len(t.topology.Spouts) && s.GetComp().GetName() == t.topology.Spouts[i].GetComp().GetName() {
				t.topology.Spouts[i].Comp.Config = s.GetComp().GetConfig()
			}
		}
		for i, b := range old.GetTopology().GetBolts() {
			if i < len(t.topology.Bolts) && b.GetComp().GetName() == t.topology.Bolts[i].GetComp().GetName() {
				t.topology.Bolts[i].Comp.Config = b.GetComp().GetConfig()
			}
		}
	}
	if err := t.writeLocation(ctx); err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Only remove the location if it is still ours.
		if loc, err := t.nodes.TManagerLocation(dctx, name); err == nil && loc.GetServerPort() == int32(t.o.ServerPort) && loc.GetHost() == t.o.Host {
			_ = t.o.Store.Delete(dctx, statemgr.TManagers, name)
		}
	}()

	watch, err := t.o.Store.Watch(ctx, statemgr.PackingPlans, name)
	if err != nil {
		return fmt.Errorf("watch packing plan of %s: %w", name, err)
	}
	go func() {
		for ev := range watch {
			switch ev.Type {
			case statemgr.EventCreated, statemgr.EventChanged:
				pp := &systempb.PackingPlan{}
				if err := nodes.Unmarshal(ev.Data, pp); err != nil {
					t.log.Error().Err(err).Msg("unreadable packing plan; keeping the previous one")
					continue
				}
				t.setPacking(ctx, pp)
			case statemgr.EventReconnected:
				if pp, err := t.nodes.PackingPlan(ctx, name); err == nil {
					t.setPacking(ctx, pp)
				}
			}
		}
	}()

	go func() {
		<-ctx.Done()
		ln.Close()
		t.mu.Lock()
		for _, s := range t.stmgrs {
			s.conn.Close()
		}
		t.mu.Unlock()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go t.serveStmgr(ctx, c)
	}
}

func (t *TManager) writeLocation(ctx context.Context) error {
	loc := &tmanagerpb.TManagerLocation{
		TopologyName:   proto.String(t.Name()),
		TopologyId:     proto.String(t.topology.GetId()),
		Host:           proto.String(t.o.Host),
		ControllerPort: proto.Int32(int32(t.o.ControllerPort)),
		ServerPort:     proto.Int32(int32(t.o.ServerPort)),
		StatsPort:      proto.Int32(int32(t.o.StatsPort)),
	}
	err := t.nodes.Create(ctx, statemgr.TManagers, t.Name(), loc, statemgr.CreateOptions{Ephemeral: true})
	if errors.Is(err, statemgr.ErrExists) {
		// A previous topology manager of this container left its location
		// (the local file system has no ephemeral nodes): replace it.
		t.log.Warn().Msg("replacing a stale topology manager location")
		if err = t.o.Store.Delete(ctx, statemgr.TManagers, t.Name()); err == nil {
			err = t.nodes.Create(ctx, statemgr.TManagers, t.Name(), loc, statemgr.CreateOptions{Ephemeral: true})
		}
	}
	if err != nil {
		return fmt.Errorf("write topology manager location of %s: %w", t.Name(), err)
	}
	return nil
}

func (t *TManager) setPacking(ctx context.Context, pp *systempb.PackingPlan) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.packing != nil && proto.Equal(t.packing, pp) {
		return
	}
	t.packing = pp
	t.digest = PlanDigest(pp)
	t.log.Info().Str("packing_plan", pp.GetId()).Str("digest", t.digest).Int("containers", len(pp.GetContainerPlans())).Msg("packing plan")
	t.rebuildLocked(ctx)
}

func (t *TManager) serveStmgr(ctx context.Context, c net.Conn) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 64<<10)
	w := bufio.NewWriterSize(c, 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	typ, b, err := readMsg(r)
	if err != nil || typ != msgRegister {
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var reg Registration
	if err := json.Unmarshal(b, &reg); err != nil {
		return
	}
	sc := &stmgrConn{reg: reg, w: w, conn: c, signal: make(chan struct{}, 1)}
	reply := func(ok bool, msg string) {
		ack, _ := json.Marshal(registerAck{OK: ok, Message: msg})
		_ = sc.send(msgRegisterAck, ack)
	}
	if reg.TopologyID != t.topology.GetId() {
		reply(false, fmt.Sprintf("topology id %q does not match %q", reg.TopologyID, t.topology.GetId()))
		return
	}
	if !strings.HasPrefix(reg.StmgrID, "stmgr-") {
		reply(false, "bad stream manager id "+reg.StmgrID)
		return
	}
	t.mu.Lock()
	if old := t.stmgrs[reg.StmgrID]; old != nil {
		if supersedes(old.reg, reg) {
			// This registration was overtaken (its connection is
			// already closed, or about to be): keep the newer one.
			t.mu.Unlock()
			reply(false, "a newer registration of "+reg.StmgrID+" exists")
			return
		}
		// The container restarted, or moved to another plan: the new
		// registration wins.
		old.conn.Close()
	}
	t.stmgrs[reg.StmgrID] = sc
	ev := t.log.Info()
	if !t.current(sc) {
		ev = ev.Bool("previous_plan", true)
	}
	ev.Str("stmgr", reg.StmgrID).Str("host", reg.Host).Int32("data_port", reg.DataPort).Str("digest", reg.PackingPlanDigest).Msg("stream manager registered")
	t.mu.Unlock()
	reply(true, "")
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go sc.sendPlans(sctx)
	t.mu.Lock()
	// A new container, or one that came back with a new pid or ports.
	t.rebuildLocked(ctx)
	t.mu.Unlock()

	for {
		typ, b, err := readMsg(r)
		if err != nil {
			break
		}
		if typ == msgMetrics && t.o.Stats != nil {
			pm := &tmanagerpb.PublishMetrics{}
			if err := proto.Unmarshal(b, pm); err == nil {
				t.o.Stats.Publish(pm)
			}
		}
	}
	t.mu.Lock()
	if t.stmgrs[reg.StmgrID] == sc {
		delete(t.stmgrs, reg.StmgrID)
		t.log.Info().Str("stmgr", reg.StmgrID).Msg("stream manager disconnected")
	}
	t.mu.Unlock()
}

// supersedes reports whether registration a, from the same executor
// process as b, is the later of the two.
func supersedes(a, b Registration) bool {
	return a.Host == b.Host && a.Pid == b.Pid && a.Session != 0 && b.Session != 0 && a.Session > b.Session
}

// current reports whether a stream manager runs the topology manager's
// packing plan. Plan ids cannot tell (Heron gives every plan of a topology
// the topology id), so the digest decides when the container sent one.
func (t *TManager) current(s *stmgrConn) bool {
	if s == nil || t.packing == nil {
		return false
	}
	if s.reg.PackingPlanDigest != "" {
		return s.reg.PackingPlanDigest == t.digest
	}
	return s.reg.PackingPlanID == t.packing.GetId()
}

// complete reports whether every container of the packing plan has a
// registered stream manager running that plan.
func (t *TManager) complete() bool {
	if t.packing == nil {
		return false
	}
	for _, cp := range t.packing.GetContainerPlans() {
		if !t.current(t.stmgrs["stmgr-"+strconv.Itoa(int(cp.GetId()))]) {
			return false
		}
	}
	return true
}

// Registrations reports registered (connected, whatever plan they run)
// and absent stream managers (the stats port's /stmgrsregistrationsummary).
func (t *TManager) Registrations() (registered, absent []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, cp := range t.packing.GetContainerPlans() {
		id := "stmgr-" + strconv.Itoa(int(cp.GetId()))
		if t.stmgrs[id] != nil {
			registered = append(registered, id)
		} else {
			absent = append(absent, id)
		}
	}
	sort.Strings(registered)
	sort.Strings(absent)
	return registered, absent
}

// rebuildLocked assembles the physical plan when every container is
// registered, writes it and sends it to every stream manager.
func (t *TManager) rebuildLocked(ctx context.Context) {
	if !t.complete() {
		return
	}
	pp := &systempb.PhysicalPlan{Topology: proto.Clone(t.topology).(*apipb.Topology)}
	cps := append([]*systempb.ContainerPlan(nil), t.packing.GetContainerPlans()...)
	sort.Slice(cps, func(i, j int) bool { return cps[i].GetId() < cps[j].GetId() })
	for _, cp := range cps {
		id := "stmgr-" + strconv.Itoa(int(cp.GetId()))
		r := t.stmgrs[id].reg
		pp.Stmgrs = append(pp.Stmgrs, &systempb.StMgr{
			Id: proto.String(id), HostName: proto.String(r.Host), DataPort: proto.Int32(r.DataPort),
			LocalEndpoint: proto.String("/unused"), Cwd: proto.String(r.Cwd), Pid: proto.Int32(r.Pid),
			ShellPort: proto.Int32(r.ShellPort), LocalDataPort: proto.Int32(r.LocalDataPort),
		})
	}
	for _, cp := range cps {
		for _, ip := range cp.GetInstancePlans() {
			pp.Instances = append(pp.Instances, &systempb.Instance{
				InstanceId: proto.String(fmt.Sprintf("container_%d_%s_%d", cp.GetId(), ip.GetComponentName(), ip.GetTaskId())),
				StmgrId:    proto.String("stmgr-" + strconv.Itoa(int(cp.GetId()))),
				Info: &systempb.InstanceInfo{TaskId: proto.Int32(ip.GetTaskId()), ComponentIndex: proto.Int32(ip.GetComponentIndex()),
					ComponentName: proto.String(ip.GetComponentName())},
			})
		}
	}
	b, err := nodes.Marshal(pp)
	if err != nil {
		t.log.Error().Err(err).Msg("cannot encode the physical plan")
		return
	}
	t.pplan = pp
	if string(b) != string(t.written) {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := t.o.Store.Set(wctx, statemgr.PhysicalPlans, t.Name(), b)
		cancel()
		if err != nil {
			t.log.Error().Err(err).Msg("cannot write the physical plan")
		} else {
			t.written = b
			t.log.Info().Str("state", pp.GetTopology().GetState().String()).Int("stmgrs", len(pp.Stmgrs)).Msg("physical plan written")
		}
	}
	for _, s := range t.stmgrs {
		s.offerPlan(b)
	}
}

// PhysicalPlan returns the current physical plan, or nil before every
// container registered.
func (t *TManager) PhysicalPlan() *systempb.PhysicalPlan {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pplan == nil {
		return nil
	}
	return proto.Clone(t.pplan).(*systempb.PhysicalPlan)
}
