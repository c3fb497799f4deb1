package local

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/freeport"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/statemgr"
	_ "github.com/heronkit/heronkit/lib/statemgr/all" // file:// and zk:// state
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/topology"
)

// Files the scheduler keeps in the working directory.
const (
	PIDFile = "heron-scheduler.pid"
	LogFile = "heron-scheduler.log"
)

// ReadyFDEnv names the inherited file descriptor on which the scheduler
// reports "ok <endpoint>" or "error <message>" once, for the launcher.
const ReadyFDEnv = "HERON_SCHEDULER_READY_FD"

// StopGrace is how long an executor gets between SIGTERM and SIGKILL.
var StopGrace = 10 * time.Second

// ServeOptions are the scheduler process's flags (Heron's SchedulerMain:
// --cluster --role --environment --topology_name --topology_bin --http_port).
type ServeOptions struct {
	Cluster, Role, Environ string
	Topology               string
	TopologyBin            string
	HTTPPort               int
}

// Args renders the options as command-line flags.
func (o ServeOptions) Args() []string {
	return []string{"--cluster=" + o.Cluster, "--role=" + o.Role, "--environment=" + o.Environ,
		"--topology-name=" + o.Topology, "--topology-bin=" + o.TopologyBin, "--http-port=" + strconv.Itoa(o.HTTPPort)}
}

// ParseServeArgs parses what Args renders.
func ParseServeArgs(args []string) (ServeOptions, error) {
	var o ServeOptions
	fs := flag.NewFlagSet("local-scheduler", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Cluster, "cluster", "", "")
	fs.StringVar(&o.Role, "role", "", "")
	fs.StringVar(&o.Environ, "environment", "", "")
	fs.StringVar(&o.Topology, "topology-name", "", "")
	fs.StringVar(&o.TopologyBin, "topology-bin", "", "")
	fs.IntVar(&o.HTTPPort, "http-port", -1, "")
	if err := fs.Parse(args); err != nil {
		return o, exitcode.Wrap(exitcode.Usage, err)
	}
	if o.Cluster == "" || o.Topology == "" || o.HTTPPort < 0 || o.HTTPPort > 65535 {
		return o, exitcode.Errorf(exitcode.Usage, "local scheduler: --cluster, --topology-name and --http-port are required")
	}
	return o, nil
}

// supervisor is the running scheduler of one topology.
type supervisor struct {
	log   zerolog.Logger
	cfg   *config.Config // cluster mode, topology keys set
	store statemgr.Store
	name  string
	topo  *apipb.Topology

	mu       sync.Mutex // guards everything below
	plan     *packing.Plan
	procs    map[int]*proc
	wanted   map[int]bool
	killed   bool
	requests sync.Mutex // Heron's scheduler server handles one request at a time
	done     chan struct{}
	stopping sync.Once
}

type proc struct {
	shard    int
	cmd      *exec.Cmd
	started  time.Time
	exited   chan struct{}
	restarts int // quick deaths in a row, for the backoff
	// replaced (guarded by supervisor.mu) marks an executor the operator
	// restarts: restart starts its successor, and its exit is no crash.
	replaced bool
}

func backoff(p *proc) time.Duration {
	return min(time.Second<<min(p.restarts, 5), 30*time.Second)
}

// Serve runs the local scheduler for one topology in the current directory
// (the topology's working directory, holding the unpacked package): it
// starts one heron-executor per container, restarts those that exit,
// answers Heron's scheduler requests on 127.0.0.1:HTTPPort and writes the
// SchedulerLocation. It returns after a kill request has stopped every
// process, or when ctx ends (then the executors are stopped too).
func Serve(ctx context.Context, o ServeOptions, log zerolog.Logger) (err error) {
	ready := readyWriter()
	defer func() {
		if err != nil && ready != nil {
			fmt.Fprintf(ready, "error %s\n", err)
			ready.Close()
		}
	}()
	if err := becomeSubreaper(); err != nil {
		log.Warn().Err(err).Msg("cannot become a child subreaper; orphans of crashed executors may survive a kill")
	}
	s, err := newSupervisor(ctx, o, log)
	if err != nil {
		return err
	}
	defer s.store.Close()
	if err := os.WriteFile(PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(PIDFile)

	// Port 0 is any free port; the endpoint written and reported is the real one.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.HTTPPort)))
	if err != nil {
		return exitcode.Errorf(exitcode.Unavailable, "scheduler port %d: %v", o.HTTPPort, err)
	}
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	if err := s.startAll(); err != nil {
		s.stopAll()
		return err
	}
	endpoint := ln.Addr().String()
	loc := &schedulerpb.SchedulerLocation{TopologyName: proto.String(s.name), HttpEndpoint: proto.String(endpoint)}
	if err := (nodes.Client{Store: s.store}).Set(ctx, statemgr.Schedulers, s.name, loc); err != nil {
		s.stopAll()
		return fmt.Errorf("write scheduler location: %w", err)
	}
	log.Info().Str("endpoint", endpoint).Int("containers", len(s.wanted)).Msg("scheduler running")
	if ready != nil {
		fmt.Fprintf(ready, "ok %s\n", endpoint)
		ready.Close()
		ready = nil
	}

	reaper := time.NewTicker(2 * time.Second)
	defer reaper.Stop()
	for {
		select {
		case <-s.done:
			log.Info().Msg("killed; scheduler exiting")
			// Let the kill request's answer go out before the server closes.
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = srv.Shutdown(sctx)
			cancel()
			return nil
		case <-ctx.Done():
			log.Info().Msg("signalled; stopping the executors")
			s.stopAll()
			return nil
		case <-reaper.C:
			s.mu.Lock()
			reap(s.executorPIDsLocked())
			s.mu.Unlock()
		}
	}
}

func readyWriter() *os.File {
	fd, err := strconv.Atoi(os.Getenv(ReadyFDEnv))
	if err != nil || fd < 3 {
		return nil
	}
	os.Unsetenv(ReadyFDEnv) // executors must not inherit the pipe's name
	return os.NewFile(uintptr(fd), "ready")
}

func newSupervisor(ctx context.Context, o ServeOptions, log zerolog.Logger) (*supervisor, error) {
	defnPath := o.Topology + ".defn"
	data, err := os.ReadFile(defnPath)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.NotFound, "no topology definition %s in the working directory: %v", defnPath, err)
	}
	topo, err := topology.ReadDefn(defnPath, data)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(config.LoadOptions{Mode: config.ClusterMode, Cluster: o.Cluster, Role: o.Role, Environ: o.Environ,
		Topology: o.Topology, TopologyID: topo.GetId()})
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	cfg = cfg.With(map[string]any{scheduler.KeyBinaryFile: o.TopologyBin, scheduler.KeyDefnFile: defnPath})
	uri, opts, err := config.StateManagerURI(cfg)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	store, err := statemgr.Open(ctx, uri, opts)
	if err != nil {
		return nil, err
	}
	pp, err := nodes.Client{Store: store}.PackingPlan(ctx, o.Topology)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("read packing plan: %w", err)
	}
	s := &supervisor{log: log, cfg: cfg, store: store, name: o.Topology, topo: topo,
		plan: packing.FromProto(pp), procs: map[int]*proc{}, wanted: map[int]bool{0: true}, done: make(chan struct{})}
	for _, id := range s.plan.ContainerIDs() {
		s.wanted[id] = true
	}
	return s, nil
}

func (s *supervisor) startAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, shard := range sortedKeys(s.wanted) {
		if err := s.startLocked(shard); err != nil {
			return err
		}
	}
	return nil
}

// selfBound are the ports the native runtime of heron-executor binds
// itself and reports in the state (the topology manager location, the
// stream managers in the physical plan).
var selfBound = map[string]bool{scheduler.PortServer: true, scheduler.PortTManagerCtl: true,
	scheduler.PortTManagerStats: true, scheduler.PortShell: true}

// FreePorts picks the ports of one executor, plus one debugger port per
// instance when remote debugging is on. A port picked here can be taken by
// another process before the executor binds it, so: for a native topology
// the ports the executor binds get 0, and it binds any free port and
// reports the one it got, which leaves no window at all; every other port
// comes from lib/freeport, outside the kernel's ephemeral range (which
// outgoing connections draw from) and never twice from this process.
// Heron's own processes (a topology that is not native) need real ports.
func FreePorts(t *apipb.Topology, instances int) (scheduler.Ports, error) {
	native := topology.IsNative(t)
	ports := scheduler.Ports{}
	for _, name := range scheduler.RequiredPorts {
		if native && selfBound[name] {
			ports[name] = "0"
			continue
		}
		p, err := freeport.Pick()
		if err != nil {
			return nil, err
		}
		ports[name] = strconv.Itoa(p)
	}
	if v, _ := topology.ConfigValue(t, "topology.remote.debugging.enable"); v == "true" && instances > 0 {
		var ds []string
		for range instances {
			p, err := freeport.Pick()
			if err != nil {
				return nil, err
			}
			ds = append(ds, strconv.Itoa(p))
		}
		ports[scheduler.PortRemoteDebuggers] = joinComma(ds)
	}
	return ports, nil
}

// startLocked starts one executor with fresh ports; s.mu is held. Holding
// it from the fork until the pid is in s.procs is what lets stopOrphans
// tell executors from orphans.
func (s *supervisor) startLocked(shard int) error {
	if s.killed {
		return fmt.Errorf("topology %s was killed", s.name)
	}
	n := 0
	if c := s.plan.Container(shard); c != nil {
		n = len(c.Instances)
	}
	ports, err := FreePorts(s.topo, n)
	if err != nil {
		return err
	}
	argv, err := scheduler.ExecutorCommand(s.cfg, s.topo, s.plan, shard, ports)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(fmt.Sprintf("heron-executor-%d.stderr", shard), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start executor %d (%s): %w", shard, argv[0], err)
	}
	p := &proc{shard: shard, cmd: cmd, started: time.Now(), exited: make(chan struct{})}
	s.procs[shard] = p
	s.log.Info().Int("shard", shard).Int("pid", cmd.Process.Pid).Msg("executor started")
	go s.monitor(p)
	return nil
}

// monitor waits for an executor and starts it again, unless the topology
// was killed, the container removed or the operator restarts it (restart
// starts the successor then). Heron restarts at once and forever; we do
// too, but wait (1 s doubling to 30 s) when it keeps dying within 10 s, so
// a broken command does not spin.
func (s *supervisor) monitor(p *proc) {
	err := p.cmd.Wait()
	close(p.exited)
	s.mu.Lock()
	if !s.currentLocked(p) {
		s.mu.Unlock()
		return
	}
	s.log.Warn().Int("shard", p.shard).Err(err).Msg("executor exited; restarting")
	delay, restarts := time.Duration(0), 0
	if time.Since(p.started) < 10*time.Second {
		delay, restarts = backoff(p), p.restarts+1
	}
	s.mu.Unlock()
	s.relaunch(p, delay, restarts)
}

// currentLocked reports whether p is still the executor its shard should
// have, so that its exit calls for a successor; s.mu is held.
func (s *supervisor) currentLocked(p *proc) bool {
	return !s.killed && s.wanted[p.shard] && s.procs[p.shard] == p && !p.replaced
}

// relaunch starts the successor of p after delay, trying again every 5 s
// while that fails, for as long as p is current. restarts is the
// successor's count of quick deaths in a row.
func (s *supervisor) relaunch(p *proc, delay time.Duration, restarts int) {
	for {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-s.done:
				return
			}
		}
		s.mu.Lock()
		if !s.currentLocked(p) {
			s.mu.Unlock()
			return
		}
		err := s.startLocked(p.shard)
		if err == nil {
			s.procs[p.shard].restarts = restarts
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		s.log.Error().Int("shard", p.shard).Err(err).Msg("cannot restart executor")
		delay = 5 * time.Second
	}
}
