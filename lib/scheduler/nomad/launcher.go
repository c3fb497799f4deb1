// Package nomad is Heron's Nomad scheduler: a topology runs as one Nomad
// job whose task groups are its containers (group <topology>-<i>, one
// heron-executor task each, with Heron's executor command line and
// Nomad-assigned ports), fetching the core package and the topology package
// with Nomad's artifact stanza, so that nodes need nothing but Nomad. It
// runs in library mode, as Heron's does: submit registers the job and
// writes a SchedulerLocation without endpoint; kill, restart and update
// call the Nomad API from the client (see Scheduler).
//
// Drivers: raw_exec (the executor runs on the node) and docker (the same
// script in heron.executor.docker.image). Each container's metrics port
// (the Prometheus sink's port-file) can be registered as the service
// metrics-heron-<topology>-<index> in Consul or in Nomad's own catalogue.
//
// The job spec and the choices behind it are described in docs/nomad.md.
package nomad

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/schedulerpb"
	"github.com/heronkit/heronkit/lib/scheduler"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
)

// Name is the scheduler's short name (heron.class.launcher and
// heron.class.scheduler accept it and Heron's Nomad class names).
const Name = "nomad"

// Launcher registers a topology's job (Heron's NomadLauncher).
type Launcher struct{}

// NewLauncher makes the launcher; settings are read per launch.
func NewLauncher(*config.Config) (scheduler.Launcher, error) { return &Launcher{}, nil }

// SpecFor reads everything a topology's job is built from: the cluster's
// Nomad settings, the plan made homogeneous (as Heron's Nomad launcher
// does), the cluster-mode config for the executor command line and the
// Prometheus sink's port-file. client resolves the "auto" service provider;
// nil means Heron's default, Consul.
func SpecFor(ctx context.Context, cfg *config.Config, top *apipb.Topology, plan *packing.Plan, client *Client) (*Spec, error) {
	st, err := ReadSettings(cfg)
	if err != nil {
		return nil, err
	}
	g := reader{cfg: cfg}
	spec := &Spec{
		Settings: st, Topology: top, Plan: plan.Homogeneous(),
		Cluster:     cfg.ForMode(config.ClusterMode),
		PackageURI:  g.str(scheduler.KeyPackageURI, ""),
		BinaryFile:  g.str(scheduler.KeyBinaryFile, ""),
		DefnFile:    g.str(scheduler.KeyDefnFile, top.GetName()+".defn"),
		ClusterName: g.str(config.KeyCluster, ""), Role: g.str(config.KeyRole, ""), Environ: g.str(config.KeyEnviron, ""),
	}
	if g.err != nil {
		return nil, exitcode.Wrap(exitcode.Config, g.err)
	}
	if spec.MetricsPortFile, err = metricsPortFile(cfg); err != nil {
		return nil, err
	}
	spec.Provider = st.ServiceProvider
	if spec.Provider == ProviderAuto {
		spec.Provider = ProviderConsul
		if client != nil {
			spec.Provider = resolveProvider(ctx, client)
		}
	}
	return spec, nil
}

// metricsPortFile is the port-file of the first Prometheus sink of
// metrics_sinks.yaml that takes its port from a file, as Heron's Nomad
// scheduler looks it up; "" when there is none.
func metricsPortFile(cfg *config.Config) (string, error) {
	ms, err := cfg.MetricsSinks()
	if err != nil {
		return "", exitcode.Wrap(exitcode.Config, err)
	}
	sinks, err := ms.Sinks()
	if err != nil {
		return "", exitcode.Wrap(exitcode.Config, err)
	}
	for _, s := range sinks {
		if s.Binary != "heron-sink-prometheus" {
			continue
		}
		port, _ := s.Settings.Int("port", 0)
		pf, _ := s.Settings.String("port-file", "")
		if port == 0 && pf != "" {
			return pf, nil
		}
	}
	return "", nil
}

// resolveProvider picks Consul when a ready node reports a Consul agent,
// else Nomad's own service catalogue.
func resolveProvider(ctx context.Context, c *Client) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ns, err := c.Nodes(ctx)
	if err != nil {
		return ProviderConsul
	}
	for _, n := range ns {
		if n.Status != "ready" {
			continue
		}
		full, err := c.Node(ctx, n.ID)
		if err != nil {
			continue
		}
		if full.Attributes["consul.version"] != "" {
			return ProviderConsul
		}
		return ProviderNomad
	}
	return ProviderConsul
}

// Executors are the containers' command lines with Nomad's port
// placeholders, for the submit output.
func (s *Spec) Executors() ([]scheduler.Executor, error) {
	ports := scheduler.Ports{}
	for _, p := range scheduler.RequiredPorts {
		ports[p] = "${NOMAD_PORT_" + PortLabel(p) + "}"
	}
	var out []scheduler.Executor
	for _, shard := range append([]int{0}, s.Plan.ContainerIDs()...) {
		argv, err := scheduler.ExecutorCommand(s.Cluster, s.Topology, s.Plan, shard, ports)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Config, err)
		}
		out = append(out, scheduler.Executor{Shard: shard, Command: argv})
	}
	return out, nil
}

// DryRun implements scheduler.Launcher: the job that Launch would
// register, without talking to Nomad except to resolve an "auto" service
// provider.
func (l *Launcher) DryRun(job *scheduler.Job) (*scheduler.Launched, error) {
	spec, jb, err := l.build(context.Background(), job, true)
	if err != nil {
		return nil, err
	}
	res, err := launched(spec, jb)
	if err == nil {
		res.Job = jb
	}
	return res, err
}

func (l *Launcher) build(ctx context.Context, job *scheduler.Job, dry bool) (*Spec, *Job, error) {
	st, err := ReadSettings(job.Config)
	if err != nil {
		return nil, nil, err
	}
	var client *Client
	if st.ServiceProvider == ProviderAuto && st.ServiceRegister {
		if client, err = NewClient(st); err != nil {
			return nil, nil, err
		}
	}
	spec, err := SpecFor(ctx, job.Config, job.Topology, job.Plan, client)
	if err != nil {
		return nil, nil, err
	}
	if dry && spec.PackageURI == "" {
		spec.PackageURI = "file:///<uploaded>/topology.tar.gz"
	}
	jb, err := spec.Build()
	return spec, jb, err
}

func launched(spec *Spec, jb *Job) (*scheduler.Launched, error) {
	ex, err := spec.Executors()
	if err != nil {
		return nil, err
	}
	return &scheduler.Launched{Scheduler: Name, SchedulerEndpoint: spec.Settings.URI, Executors: ex}, nil
}

// Launch implements scheduler.Launcher: write the homogeneous packing plan,
// register the job, wait until Nomad has placed every container (and, with
// heron.nomad.launch.timeout.sec > 0, until every container runs), then
// write the SchedulerLocation. On any failure the job is purged again, so a
// failed launch leaves nothing behind in Nomad.
func (l *Launcher) Launch(ctx context.Context, job *scheduler.Job) (res *scheduler.Launched, err error) {
	st, err := ReadSettings(job.Config)
	if err != nil {
		return nil, err
	}
	client, err := NewClient(st)
	if err != nil {
		return nil, err
	}
	spec, err := SpecFor(ctx, job.Config, job.Topology, job.Plan, client)
	if err != nil {
		return nil, err
	}
	if spec.PackageURI == "" {
		return nil, exitcode.Errorf(exitcode.Internal, "nomad launcher: %s is not set", scheduler.KeyPackageURI)
	}
	jb, err := spec.Build()
	if err != nil {
		return nil, err
	}
	name := job.Topology.GetName()
	log := job.Log.With().Str("job", jb.ID).Logger()

	var index uint64
	if cur, err := client.Job(ctx, jb.ID); err == nil {
		if !cur.Stop && cur.Status != "dead" {
			return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Conflict, "nomad job %s already runs (topology id %s)", jb.ID, cur.Meta[MetaTopologyID]),
				"kill the topology first, or stop the job: nomad job stop -purge "+jb.ID)
		}
		index = cur.JobModifyIndex
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}

	c := nodes.Client{Store: job.Store}
	if err := c.Set(ctx, statemgr.PackingPlans, name, spec.Plan.Proto()); err != nil {
		return nil, fmt.Errorf("write the homogeneous packing plan: %w", err)
	}
	reg, err := client.Register(ctx, jb, true, index)
	if err != nil {
		return nil, fmt.Errorf("register nomad job %s: %w", jb.ID, err)
	}
	log.Debug().Str("eval", reg.EvalID).Msg("nomad job registered")
	defer func() {
		if err == nil {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), st.KillTimeout+10*time.Second)
		defer cancel()
		if perr := purge(rctx, client, jb.ID, st.KillTimeout); perr != nil {
			log.Error().Err(perr).Msg("rollback: cannot purge the nomad job")
		}
	}()
	if err := waitPlaced(ctx, client, reg.EvalID); err != nil {
		return nil, fmt.Errorf("nomad job %s: %w", jb.ID, err)
	}
	if st.LaunchTimeout > 0 {
		if err := waitRunning(ctx, client, jb.ID, len(jb.TaskGroups), st.LaunchTimeout); err != nil {
			return nil, fmt.Errorf("nomad job %s: %w", jb.ID, err)
		}
	}
	loc := &schedulerpb.SchedulerLocation{TopologyName: proto.String(name),
		HttpEndpoint: proto.String(scheduler.LibraryEndpoint), JobPageLink: []string{client.UIJobURL(jb.ID)}}
	if err := c.Set(ctx, statemgr.Schedulers, name, loc); err != nil {
		return nil, fmt.Errorf("write the scheduler location: %w", err)
	}
	log.Info().Int("containers", len(jb.TaskGroups)).Str("ui", client.UIJobURL(jb.ID)).Msg("topology runs on nomad")
	return launched(spec, jb)
}

// waitPlaced waits for the registration's evaluation and fails when Nomad
// could not place a container (no node with the driver, resources
// exhausted, constraints...).
func waitPlaced(ctx context.Context, c *Client, evalID string) error {
	if evalID == "" {
		return nil
	}
	for {
		ev, err := c.Evaluation(ctx, evalID)
		if err != nil {
			return err
		}
		switch ev.Status {
		case "pending":
		case "complete":
			if len(ev.FailedTGAllocs) > 0 {
				return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "nomad cannot place %s", placementFailures(ev)),
					"check the nodes' drivers and free resources (nomad node status), or lower "+KeyCoreFreqMapping+" and the topology's resources")
			}
			return nil
		default:
			return exitcode.Errorf(exitcode.Failure, "nomad evaluation %s %s: %s", evalID, ev.Status, ev.StatusDescription)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func placementFailures(ev *Evaluation) string {
	var parts []string
	for group, m := range ev.FailedTGAllocs {
		var why []string
		for k, n := range m.DimensionExhausted {
			why = append(why, fmt.Sprintf("%s exhausted on %d node(s)", k, n))
		}
		for k, n := range m.ConstraintFiltered {
			why = append(why, fmt.Sprintf("%s filtered %d node(s)", k, n))
		}
		for k, n := range m.ClassFiltered {
			why = append(why, fmt.Sprintf("class %s filtered %d node(s)", k, n))
		}
		if m.NodesEvaluated == 0 {
			why = append(why, "no node in the job's datacenters and node pool")
		}
		parts = append(parts, group+" ("+strings.Join(why, "; ")+")")
	}
	return strings.Join(parts, ", ")
}

// waitRunning waits until every group has a running allocation, and fails
// early when a task fails (a failed artifact download, a driver error).
func waitRunning(ctx context.Context, c *Client, jobID string, groups int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		allocs, err := c.Allocations(ctx, jobID)
		if err != nil {
			if ctx.Err() != nil {
				return exitcode.Errorf(exitcode.Unavailable, "the containers did not all run within %s", timeout)
			}
			return err
		}
		running := map[string]bool{}
		for _, a := range allocs {
			if a.DesiredStatus != "run" {
				continue
			}
			if msg := taskFailure(a); msg != "" {
				return exitcode.Errorf(exitcode.Failure, "container %s failed: %s", a.TaskGroup, msg)
			}
			if a.ClientStatus == "running" {
				running[a.TaskGroup] = true
			}
		}
		if len(running) >= groups {
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "only %d of %d containers run after %s", len(running), groups, timeout),
					"see the allocations: nomad job status "+jobID)
			}
			return err
		}
	}
}

// taskFailure is the message of a task event that made a task fail for
// good or keeps it from starting (artifacts, driver, setup).
func taskFailure(a Alloc) string {
	for _, ts := range a.TaskStates {
		for _, ev := range ts.Events {
			switch {
			case ev.DownloadError != "", ev.Type == "Failed Artifact Download":
				return ev.Type + ": " + firstNonEmpty(ev.DownloadError, ev.DisplayMessage)
			case ev.DriverError != "", ev.Type == "Driver Failure":
				return ev.Type + ": " + firstNonEmpty(ev.DriverError, ev.DisplayMessage)
			case ev.SetupError != "", ev.Type == "Setup Failure":
				return ev.Type + ": " + firstNonEmpty(ev.SetupError, ev.DisplayMessage)
			case ev.FailsTask:
				return ev.Type + ": " + ev.DisplayMessage
			}
		}
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// purge deregisters a job with purge and waits until its allocations have
// stopped, so that no executor outlives it (and rewrites state after a
// kill has cleaned it), and until its services have left Nomad's catalogue.
func purge(ctx context.Context, c *Client, jobID string, timeout time.Duration) error {
	regs, err := c.JobServices(ctx, jobID)
	if err != nil {
		return err
	}
	if _, err := c.Deregister(ctx, jobID, true); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := waitStopped(ctx, c, jobID, timeout); err != nil {
		return err
	}
	return waitDeregistered(ctx, c, jobID, regs, timeout)
}

// waitDeregistered waits until none of regs is in Nomad's catalogue. (Nomad
// removes Consul registrations with the allocations too.)
func waitDeregistered(ctx context.Context, c *Client, jobID string, regs []ServiceRegistration, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	names := map[string]bool{}
	for _, r := range regs {
		names[r.ServiceName] = true
	}
	for name := range names {
		for {
			cur, err := c.Services(ctx, name)
			left := 0
			for _, r := range cur {
				if r.JobID == jobID {
					left++
				}
			}
			if err == nil && left == 0 {
				break
			}
			if serr := sleep(ctx, 100*time.Millisecond); serr != nil {
				return exitcode.Errorf(exitcode.Unavailable, "service %s of %s still registered after %s", name, jobID, timeout)
			}
		}
	}
	return nil
}

// waitStopped waits until no allocation of a job is still running.
func waitStopped(ctx context.Context, c *Client, jobID string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		allocs, err := c.AllocationsByJob(ctx, jobID)
		if err == nil {
			live := 0
			for _, a := range allocs {
				if !a.Terminal() {
					live++
				}
			}
			if live == 0 {
				return nil
			}
			err = fmt.Errorf("%d allocation(s) of %s still running", live, jobID)
		}
		if serr := sleep(ctx, 200*time.Millisecond); serr != nil {
			return exitcode.WithHint(exitcode.Errorf(exitcode.Unavailable, "%v after %s", err, timeout),
				"the containers may still be stopping; check with: nomad job status "+jobID)
		}
	}
}
