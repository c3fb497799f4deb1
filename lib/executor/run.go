package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/shell"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"

	// State-manager backends the flags can name.
	_ "github.com/heronkit/heronkit/lib/statemgr/all"
)

// Options are the process-level settings of Run.
type Options struct {
	Stderr    io.Writer
	LogLevel  string
	LogFormat string
}

// container is the state shared by the roles of one executor.
type container struct {
	a     Args
	dir   string
	host  string
	set   settings
	log   zerolog.Logger
	store statemgr.Store
	nodes nodes.Client
	topo  *apipb.Topology
	stop  context.CancelFunc
	// data is the data port of a container holding instances.
	data *dataPort
	// session numbers this executor's registrations with the topology
	// manager, in order (tmanager.Registration.Session).
	session atomic.Int64
}

// Run runs one container until ctx ends (SIGTERM) or a fatal error, then
// stops every child process.
func Run(ctx context.Context, a Args, o Options) error {
	if err := a.Validate(); err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	set, warnings, err := loadSettings(a)
	if err != nil {
		return exitcode.Wrap(exitcode.Config, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, set.LogDir), 0o755); err != nil {
		return fmt.Errorf("create log directory: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("heron-executor-%d.stdout", a.Shard)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open executor log: %w", err)
	}
	defer logf.Close()
	log := newLogger(o, logf).With().Str("topology", a.TopologyName).Int("shard", a.Shard).Logger()
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	if err := WritePidFile(dir, fmt.Sprintf("heron-executor-%d", a.Shard), os.Getpid()); err != nil {
		return fmt.Errorf("write executor pid file: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sopts := statemgr.DefaultOptions()
	sopts.ConnectionTimeout = 15 * time.Second
	store, err := statemgr.Open(ctx, a.StateManagerURI(), sopts)
	if err != nil {
		return exitcode.Wrap(exitcode.Unavailable, fmt.Errorf("open state manager %s: %w", a.StateManagerURI(), err))
	}
	defer store.Close()
	c := &container{a: a, dir: dir, host: hostName(), set: set, log: log, store: store, nodes: nodes.Client{Store: store}, stop: cancel}
	if c.topo, err = c.readTopology(ctx); err != nil {
		return err
	}
	// Hook: a topology the native runtime cannot run is Heron's own (Java,
	// Python, C++): run Heron's processes from ./heron-core (heroncore.go).
	if whyNot := nativeCheck(c.topo); whyNot != nil {
		return c.runHeronCore(ctx, whyNot)
	}
	if strings.EqualFold(a.IsStateful, "true") {
		return exitcode.Wrap(exitcode.Usage, errStateful)
	}
	log.Info().Str("host", c.host).Str("state", a.StateManagerURI()).Msg("executor starting")

	shellLn, err := listen(a.ShellPort, "shell")
	if err != nil {
		return err
	}
	c.a.ShellPort = portOf(shellLn)
	h, err := shell.Handler(shell.Options{Dir: dir, Secret: a.TopologyID, Kill: cancel})
	if err != nil {
		return err
	}
	var servers sync.WaitGroup
	serveHTTP(ctx, &servers, shellLn, h)

	if a.Shard == 0 {
		err = c.runManager(ctx, &servers)
	} else {
		err = c.runContainer(ctx)
	}
	cancel()
	servers.Wait()
	if err != nil {
		log.Error().Err(err).Msg("executor stopped")
		return err
	}
	log.Info().Msg("executor stopped")
	return nil
}

// isPlacement tells errors about an empty packing plan from errors about
// the topology itself.
func isPlacement(err error) bool {
	return err != nil && strings.Contains(err.Error(), "places no instance")
}

func newLogger(o Options, file io.Writer) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(o.LogLevel)
	if err != nil || o.LogLevel == "" {
		lvl = zerolog.InfoLevel
	}
	var errw io.Writer = o.Stderr
	if errw == nil {
		errw = os.Stderr
	}
	if f, ok := errw.(*os.File); o.LogFormat == "console" || (o.LogFormat == "auto" && ok && isatty.IsTerminal(f.Fd())) {
		errw = zerolog.ConsoleWriter{Out: errw, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(zerolog.MultiLevelWriter(errw, file)).Level(lvl).With().Timestamp().Str("cmd", "heron-executor").Logger()
}

// readTopology reads the .defn file of the working directory, as Heron's
// stream manager does, or else the topologies node.
func (c *container) readTopology(ctx context.Context) (*apipb.Topology, error) {
	if c.a.TopologyDefnFile != "" {
		if b, err := os.ReadFile(c.a.TopologyDefnFile); err == nil {
			t := &apipb.Topology{}
			if err := proto.Unmarshal(b, t); err != nil {
				return nil, exitcode.Wrap(exitcode.DataErr, fmt.Errorf("topology definition %s is not a Topology proto: %w", c.a.TopologyDefnFile, err))
			}
			return t, nil
		}
	}
	t, err := c.nodes.Topology(ctx, c.a.TopologyName)
	if err != nil {
		return nil, fmt.Errorf("read topology %s (no %s in the working directory): %w", c.a.TopologyName, c.a.TopologyDefnFile, err)
	}
	return t, nil
}

// hostName is the host the other containers reach this one by: $HOST when
// set (as Heron does in Docker), else the host name if it resolves, else
// the loopback address.
func hostName() string {
	if h := os.Getenv("HOST"); h != "" {
		return h
	}
	h, err := os.Hostname()
	if err == nil && h != "" {
		if _, err := net.LookupHost(h); err == nil {
			return h
		}
	}
	return "127.0.0.1"
}

// portOf is the port a listener got: the one asked for, or the one the
// kernel chose for port 0.
func portOf(ln net.Listener) int {
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// zeroPort names the first port flag that is 0. The native runtime binds
// port 0 as any free port and reports the port it got (in the topology
// manager location and the physical plan), which lets a scheduler on the
// same machine avoid choosing ports that another process may take before
// the executor binds them. Heron's processes take fixed ports only.
func zeroPort(a Args) (string, bool) {
	for _, f := range []struct {
		name string
		port int
	}{{"server-port", a.ServerPort}, {"tmanager-controller-port", a.TmanagerControllerPort},
		{"tmanager-stats-port", a.TmanagerStatsPort}, {"shell-port", a.ShellPort}, {"metrics-manager-port", a.MetricsManagerPort}} {
		if f.port == 0 {
			return f.name, true
		}
	}
	return "", false
}

func listen(port int, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Unavailable, fmt.Errorf("listen on the %s port %d: %w", what, port, err))
	}
	return ln, nil
}

func serveHTTP(ctx context.Context, wg *sync.WaitGroup, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
}

// waitPacking returns the packing plan of the topology, waiting for it.
func (c *container) watchPacking(ctx context.Context) (<-chan *systempb.PackingPlan, error) {
	ev, err := c.store.Watch(ctx, statemgr.PackingPlans, c.a.TopologyName)
	if err != nil {
		return nil, fmt.Errorf("watch the packing plan: %w", err)
	}
	out := make(chan *systempb.PackingPlan, 1)
	go func() {
		defer close(out)
		for e := range ev {
			var pp *systempb.PackingPlan
			switch e.Type {
			case statemgr.EventCreated, statemgr.EventChanged:
				pp = &systempb.PackingPlan{}
				if err := nodes.Unmarshal(e.Data, pp); err != nil {
					c.log.Error().Err(err).Msg("unreadable packing plan; keeping the previous one")
					continue
				}
			case statemgr.EventDeleted:
				pp = &systempb.PackingPlan{}
			default:
				continue
			}
			// Only the newest plan matters.
			select {
			case <-out:
			default:
			}
			out <- pp
		}
	}()
	return out, nil
}

func ownPgid() int {
	pg, err := syscall.Getpgid(0)
	if err != nil || pg != os.Getpid() {
		return os.Getpid()
	}
	return pg
}
