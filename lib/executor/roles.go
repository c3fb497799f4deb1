package executor

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/instance"
	"github.com/heronkit/heronkit/lib/metricsmgr"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/proto/tmanagerpb"
	"github.com/heronkit/heronkit/lib/stmgr"
	"github.com/heronkit/heronkit/lib/tmanager"
	"github.com/heronkit/heronkit/lib/tmstats"
)

// MetricRestarts is the cumulative number of restarts of an instance.
const MetricRestarts = "__instance-restart-count"

// runManager plays container 0: the topology manager and its metrics manager.
func (c *container) runManager(ctx context.Context, servers *sync.WaitGroup) error {
	a := c.a
	srvLn, err := listen(a.ServerPort, "topology manager server")
	if err != nil {
		return err
	}
	ctlLn, err := listen(a.TmanagerControllerPort, "controller")
	if err != nil {
		srvLn.Close()
		return err
	}
	statsLn, err := listen(a.TmanagerStatsPort, "stats")
	if err != nil {
		srvLn.Close()
		ctlLn.Close()
		return err
	}
	// Port 0 asked for any free port: what is reported is what was bound.
	c.a.ServerPort, c.a.TmanagerControllerPort, c.a.TmanagerStatsPort = portOf(srvLn), portOf(ctlLn), portOf(statsLn)
	a = c.a
	c.log.Info().Int("server_port", a.ServerPort).Int("controller_port", a.TmanagerControllerPort).
		Int("stats_port", a.TmanagerStatsPort).Int("shell_port", a.ShellPort).Msg("topology manager listening")
	st := tmstats.New(tmstats.Options{Interval: c.set.PurgeInterval, MaxInterval: c.set.MaxInterval,
		MaxExceptions: c.set.MaxExceptions, Types: c.set.Types})
	var names []string
	for _, s := range c.topo.GetSpouts() {
		names = append(names, s.GetComp().GetName())
	}
	for _, b := range c.topo.GetBolts() {
		names = append(names, b.GetComp().GetName())
	}
	names = append(names, "__stmgr__", "__tmanager__", "__metricsmgr__")
	st.SetComponents(names)
	tm := tmanager.New(tmanager.Options{Store: c.store, Topology: c.topo, Host: c.host, ServerPort: a.ServerPort,
		ControllerPort: a.TmanagerControllerPort, StatsPort: a.TmanagerStatsPort, Stats: st, Log: c.log})
	serveHTTP(ctx, servers, ctlLn, tm.ControllerHandler())
	serveHTTP(ctx, servers, statsLn, tmstats.Handler(st, tm.Registrations))

	var sampler metricsmgr.Sampler
	mm := metricsmgr.New(c.metricsOptions(0, st.Publish, func() []metricsmgr.Publisher {
		return []metricsmgr.Publisher{{Source: stmgr.Source{Component: "__tmanager__", Instance: "0", Task: -1,
			Metrics: sampler.Sample(ownPgid(), time.Now())}, Port: a.ServerPort}}
	}))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mm.Run(ctx)
	}()
	err = tm.Run(ctx, srvLn)
	c.stop()
	wg.Wait()
	return err
}

func (c *container) metricsOptions(shard int, publish func(*tmanagerpb.PublishMetrics), collect func() []metricsmgr.Publisher) metricsmgr.Options {
	id := "metricsmgr-" + strconv.Itoa(shard)
	var sinks []metricsmgr.SinkSpec
	var sinkLog *instance.LogFile
	for _, s := range c.set.Sinks {
		switch {
		case s.Builtin == "tmanager":
			continue // publish, below
		case s.Builtin != "":
			c.log.Info().Str("sink", s.ID).Msg("metrics cache sink is not used by the native runtime")
			continue
		}
		path, err := metricsmgr.LookPath(s.Binary)
		if err != nil {
			c.log.Error().Str("sink", s.ID).Str("binary", s.Binary).Msg("metrics sink binary not found on PATH; the sink does not run (install it next to heron-executor)")
			continue
		}
		attempts, err := s.Settings.Int("sink-restart-attempts", 0)
		if err != nil {
			c.log.Error().Err(err).Str("sink", s.ID).Msg("bad sink-restart-attempts; using 0")
		}
		if sinkLog == nil {
			if sinkLog, err = instance.OpenLog(filepath.Join(c.dir, c.set.LogDir, id+".log"), c.set.LogMaxBytes, c.set.LogFiles); err != nil {
				c.log.Error().Err(err).Msg("cannot open the metrics manager log")
				continue
			}
		}
		override, _ := filepath.Abs(c.a.OverrideConfigFile)
		sinks = append(sinks, metricsmgr.SinkSpec{ID: s.ID, Path: path, Dir: c.dir, RestartAttempts: attempts, Log: sinkLog,
			Args: []string{"--config-file=" + c.set.SinksFile, "--override-config-file=" + override, "--sink-id=" + s.ID,
				"--topology=" + c.a.TopologyName, "--cluster=" + c.a.Cluster, "--role=" + c.a.Role,
				"--environ=" + c.a.Environment, "--metrics-mgr-id=" + id}})
	}
	return metricsmgr.Options{ID: id, Host: c.host, Topology: c.a.TopologyName, TopologyID: c.a.TopologyID,
		Cluster: c.a.Cluster, Role: c.a.Role, Environ: c.a.Environment, Interval: c.set.ExportInterval,
		Whitelist: c.set.Whitelist, Publish: publish, Collect: collect, Sinks: sinks, Log: c.log}
}

// Bounds of the wait between attempts to start a container's runtime.
const (
	runtimeRetryMin = 500 * time.Millisecond
	runtimeRetryMax = 30 * time.Second
)

// runContainer plays a container that holds instances: it follows the
// packing plan and runs the container's runtime for the latest plan. The
// data port is bound once, here, and kept across plans (dataPort); a
// runtime that cannot start is tried again, with backoff, until it starts
// or another plan arrives, so the container always registers again.
func (c *container) runContainer(ctx context.Context) error {
	data, err := bindDataPort(c.a.ServerPort)
	if err != nil {
		return err
	}
	defer data.Close()
	c.data = data
	c.a.ServerPort = portOf(data.ln) // port 0: the port the kernel chose
	c.log.Info().Int("data_port", c.a.ServerPort).Int("shell_port", c.a.ShellPort).Msg("container listening")
	plans, err := c.watchPacking(ctx)
	if err != nil {
		return err
	}
	var rt *runtime
	defer func() {
		if rt != nil {
			rt.stop()
		}
	}()
	var (
		fatal <-chan error
		want  *systempb.PackingPlan // the plan to run; nil before the first
		retry <-chan time.Time
		wait  = runtimeRetryMin
	)
	start := func() {
		if len(want.GetContainerPlans()) == 0 {
			c.log.Info().Msg("packing plan has no containers; nothing to run")
			return
		}
		var err error
		if rt, err = c.startRuntime(ctx, want); err != nil {
			c.log.Error().Err(err).Dur("retry_in", wait).Msg("cannot run this packing plan; trying again")
			rt, retry = nil, time.After(wait)
			wait = min(2*wait, runtimeRetryMax)
			return
		}
		fatal = rt.errc
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-fatal:
			return err
		case <-retry:
			retry = nil
			start()
		case pp, ok := <-plans:
			if !ok {
				return nil
			}
			if want != nil && proto.Equal(want, pp) {
				continue
			}
			want, retry, wait = pp, nil, runtimeRetryMin
			if rt != nil {
				c.log.Info().Str("packing_plan", pp.GetId()).Msg("packing plan changed; restarting the container's processes")
				rt.stop()
				rt, fatal = nil, nil
			}
			start()
		}
	}
}

// runtime is the stream manager, instances and metrics manager of one
// container for one packing plan.
type runtime struct {
	pack   *systempb.PackingPlan
	cancel context.CancelFunc
	errc   chan error
	wg     sync.WaitGroup
	m      *stmgr.Manager
	// lease is the stream manager's use of the data port; served is
	// closed once the stream manager stopped accepting on it.
	lease  *portLease
	served chan struct{}
}

func (r *runtime) stop() {
	if r.lease != nil {
		// Peers connecting from now on wait for the next runtime.
		r.lease.Close()
	}
	if r.m != nil {
		r.m.Shutdown()
	}
	r.cancel()
	r.wg.Wait()
	if r.served != nil {
		<-r.served
	}
	if r.m != nil {
		r.m.Close()
	}
}

func (c *container) startRuntime(parent context.Context, pp *systempb.PackingPlan) (*runtime, error) {
	a := c.a
	shard := int32(a.Shard)
	plan, err := stmgr.NewPlan(c.topo, pp)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(parent)
	rt := &runtime{pack: pp, cancel: cancel, errc: make(chan error, 1)}
	var mine *systempb.ContainerPlan
	for _, cp := range pp.GetContainerPlans() {
		if cp.GetId() == shard {
			mine = cp
		}
	}
	if mine == nil {
		c.log.Info().Msg("this container is not in the packing plan; only the shell runs")
		return rt, nil
	}
	m, err := stmgr.New(stmgr.Config{Plan: plan, Container: shard, TopologyID: c.topo.GetId(), Log: c.log,
		HighWater: c.set.HighWater, LowWater: c.set.LowWater, HardLimit: c.set.HardLimit})
	if err != nil {
		cancel()
		return nil, err
	}
	rt.m = m
	m.Start()
	rt.lease, rt.served = c.data.lease(), make(chan struct{})
	go func() {
		defer close(rt.served)
		if err := m.Serve(rt.lease); err != nil {
			c.log.Error().Err(err).Msg("data port failed")
		}
	}()

	client := &tmanager.Client{Store: c.store, Topology: a.TopologyName, Log: c.log,
		Reg: tmanager.Registration{StmgrID: stmgr.StmgrID(shard), TopologyID: c.topo.GetId(), Host: c.host,
			DataPort: int32(a.ServerPort), LocalDataPort: int32(a.TmanagerControllerPort), ShellPort: int32(a.ShellPort),
			Pid: int32(os.Getpid()), Cwd: c.dir, PackingPlanID: pp.GetId(), PackingPlanDigest: tmanager.PlanDigest(pp),
			Session: c.session.Add(1)},
		OnPlan: func(p *systempb.PhysicalPlan) {
			addrs := map[int32]string{}
			for _, s := range p.GetStmgrs() {
				id, err := strconv.Atoi(strings.TrimPrefix(s.GetId(), "stmgr-"))
				if err != nil {
					continue
				}
				addrs[int32(id)] = net.JoinHostPort(s.GetHostName(), strconv.Itoa(int(s.GetDataPort())))
			}
			m.SetPeers(addrs)
			active := p.GetTopology().GetState() == apipb.TopologyState_RUNNING
			m.SetActive(active)
			c.log.Info().Bool("active", active).Int("stmgrs", len(addrs)).Msg("physical plan received")
		}}
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		if err := client.Run(ctx); err != nil {
			c.log.Error().Err(err).Msg("topology manager client stopped")
		}
	}()

	sups := map[int32]*supervisor{}
	ram := map[int32]int64{} // task → the RAM its plan gives it, for the memory total
	for _, ip := range mine.GetInstancePlans() {
		ram[ip.GetTaskId()] = ip.GetResource().GetRam()
		t := plan.Task(ip.GetTaskId())
		s := &supervisor{dir: c.dir, set: c.set, m: m, task: t, log: c.log,
			id: instance.Identity{Topology: a.TopologyName, TopologyID: c.topo.GetId(), Component: t.Component.Name,
				InstanceID: t.InstanceID, TaskID: t.ID, Index: t.Index, Container: shard, Parallelism: int32(len(t.Component.Tasks))}}
		sups[t.ID] = s
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			if err := s.run(ctx); err != nil {
				c.log.Error().Err(err).Msg("giving up on the container")
				select {
				case rt.errc <- err:
				default:
				}
			}
		}()
	}

	var sampler metricsmgr.Sampler
	mm := metricsmgr.New(c.metricsOptions(a.Shard, client.Publish, func() []metricsmgr.Publisher {
		now := time.Now()
		var out []metricsmgr.Publisher
		for _, s := range m.Collect() {
			p := metricsmgr.Publisher{Source: s}
			if sup := sups[s.Task]; s.Task >= 0 && sup != nil {
				p.Port = int(s.Task)
				if pg := sup.pgid.Load(); pg > 0 && !sup.finished.Load() {
					p.Metrics = append(p.Metrics, sampler.Sample(int(pg), now)...)
					p.Metrics = append(p.Metrics, metricsmgr.MemoryTotal(ram[s.Task])...)
				}
				p.Metrics = append(p.Metrics, stmgr.Datum{Name: MetricRestarts, Value: strconv.FormatInt(sup.restarts.Load(), 10)})
			} else {
				p.Port = a.TmanagerControllerPort
				p.Metrics = append(p.Metrics, sampler.Sample(ownPgid(), now)...)
			}
			out = append(out, p)
		}
		return out
	}))
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		mm.Run(ctx)
	}()
	c.log.Info().Str("packing_plan", pp.GetId()).Int("instances", len(mine.GetInstancePlans())).Msg("container running")
	return rt, nil
}
