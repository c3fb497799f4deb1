package submit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/packing"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/proto/systempb"
	"github.com/heronkit/heronkit/lib/scheduler"
	_ "github.com/heronkit/heronkit/lib/scheduler/local" // the local launcher
	_ "github.com/heronkit/heronkit/lib/scheduler/nomad" // the nomad launcher
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/topology"
	"github.com/heronkit/heronkit/lib/uploader"
	_ "github.com/heronkit/heronkit/lib/uploader/all" // every uploader backend
)

// Write is one state node a submit writes (or would write, in a dry run).
type Write struct {
	Node  string          `json:"node"` // e.g. "topologies/WordCount"
	Value json.RawMessage `json:"value"`
}

// TopologyResult describes one submitted topology. Containers and Instances
// are left out when unknown: through an API server the server packs, and its
// answer carries no counts (zeros would read as an empty topology).
type TopologyResult struct {
	Name       string              `json:"name"`
	ID         string              `json:"id"`
	State      string              `json:"state"`
	Containers int                 `json:"containers,omitempty"`
	Instances  int                 `json:"instances,omitempty"`
	PackageURI string              `json:"package_uri,omitempty"`
	Package    []pkgtar.Entry      `json:"package,omitempty"`
	Writes     []Write             `json:"writes,omitempty"`
	Launch     *scheduler.Launched `json:"launch,omitempty"`
}

// LaunchRequest is one topology to put on a cluster.
type LaunchRequest struct {
	// Config is the client config for this topology (LoadConfig with its
	// name and id).
	Config *config.Config
	// Topology is the full definition; its state is the initial state.
	Topology *apipb.Topology
	// PackageFile is the built topology.tar.gz; BinaryFile the base name
	// of the topology file inside it (the YAML, jar, ...).
	PackageFile, BinaryFile string
	// Package lists the package's entries, for the dry-run output.
	Package []pkgtar.Entry
	// SubmissionTime defaults to now.
	SubmissionTime time.Time
	// ReleaseVersion goes into the execution state when the config has no
	// heron.build.version.
	ReleaseVersion string
	DryRun         bool
}

// Launch puts one topology on the cluster the way Heron's SubmitterMain
// does: refuse a name in use, pack (rewriting topology.stmgrs to the plan's
// container count), upload the package, write the topology (without
// serialized objects), the packing plan and the execution state, and start
// the scheduler. Any failure undoes what was done, the upload included.
func Launch(ctx context.Context, opts Options, req LaunchRequest) (res *TopologyResult, err error) {
	top := proto.Clone(req.Topology).(*apipb.Topology)
	name := top.GetName()
	cfg := req.Config.With(map[string]any{
		config.KeyTopologyName:   name,
		config.KeyTopologyID:     top.GetId(),
		scheduler.KeyBinaryFile:  req.BinaryFile,
		scheduler.KeyDefnFile:    name + ".defn",
		scheduler.KeyPackageFile: req.PackageFile,
		scheduler.KeyPackageType: scheduler.PackageType(req.BinaryFile),
	})
	plan, err := pack(cfg, top)
	if err != nil {
		return nil, err
	}
	res = &TopologyResult{Name: name, ID: top.GetId(), State: top.GetState().String(), Containers: len(plan.Containers),
		Instances: countInstances(plan), Package: req.Package}
	cluster, role, environ := triple(cfg)
	user, _ := cfg.String(config.KeySubmitUser, "")
	when := req.SubmissionTime
	if when.IsZero() {
		when = time.Now()
	}
	version, _ := cfg.String("heron.build.version", req.ReleaseVersion)
	buildUser, _ := cfg.String("heron.build.user", user)
	exec := &systempb.ExecutionState{
		TopologyName: proto.String(name), TopologyId: proto.String(top.GetId()),
		SubmissionTime: proto.Int64(when.Unix()), SubmissionUser: proto.String(user),
		Cluster: proto.String(cluster), Role: proto.String(role), Environ: proto.String(environ),
		ReleaseState: &systempb.HeronReleaseState{ReleaseUsername: proto.String(buildUser), ReleaseTag: proto.String(""), ReleaseVersion: proto.String(version)},
	}
	writes := []struct {
		kind statemgr.Kind
		msg  proto.Message
	}{
		{statemgr.Topologies, topology.Trimmed(top)},
		{statemgr.PackingPlans, plan.Proto()},
		{statemgr.ExecutionState, exec},
	}
	for _, w := range writes {
		js, err := nodes.ToJSON(w.msg)
		if err != nil {
			return nil, err
		}
		res.Writes = append(res.Writes, Write{Node: string(w.kind) + "/" + name, Value: js})
	}
	launcher, err := scheduler.NewLauncher(cfg)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if _, err := store.Get(ctx, statemgr.Topologies, name); err == nil {
		return nil, exitcode.WithHint(exitcode.Errorf(exitcode.Conflict, "topology %s already exists in cluster %s", name, cluster),
			"kill it first, or submit under another name")
	} else if !errors.Is(err, statemgr.ErrNotFound) {
		return nil, err
	}
	job := &scheduler.Job{Topology: top, Plan: plan, Config: cfg, Store: store, Log: opts.Log}
	if req.DryRun {
		if res.Launch, err = launcher.DryRun(job); err != nil {
			return nil, err
		}
		return res, nil
	}
	res.Writes = nil

	up, err := uploader.New(cfg)
	if err != nil {
		return nil, err
	}
	uri, err := up.Upload(ctx, req.PackageFile)
	if err != nil {
		return nil, fmt.Errorf("upload the package: %w", err)
	}
	res.PackageURI = uri
	opts.Log.Debug().Str("uri", uri).Msg("package uploaded")
	// From here on, every failure rolls back: written nodes in reverse
	// order, then the upload. The rollback must run even if ctx ended.
	var written []statemgr.Kind
	defer func() {
		if err == nil {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for i := len(written) - 1; i >= 0; i-- {
			if derr := store.Delete(rctx, written[i], name); derr != nil {
				opts.Log.Error().Err(derr).Str("node", string(written[i])).Msg("rollback: cannot delete")
			}
		}
		if uerr := up.Undo(rctx); uerr != nil {
			opts.Log.Error().Err(uerr).Msg("rollback: cannot remove the uploaded package")
		}
		res = nil
	}()
	c := nodes.Client{Store: store}
	for _, w := range writes {
		if err = c.Create(ctx, w.kind, name, w.msg, statemgr.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("write %s/%s: %w", w.kind, name, err)
		}
		written = append(written, w.kind)
	}
	job.Config = cfg.With(map[string]any{scheduler.KeyPackageURI: uri})
	res.Launch, err = launcher.Launch(ctx, job)
	if err != nil {
		// Heron: best-effort scheduler kill, then the state goes.
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		if kerr := scheduler.KillTopology(kctx, job.Config, store, opts.Log, name); kerr == nil {
			opts.Log.Debug().Msg("rollback: scheduler killed")
		}
		cancel()
		written = append(written, statemgr.Schedulers, statemgr.TManagers, statemgr.PhysicalPlans, statemgr.MetricsCaches)
		return nil, fmt.Errorf("launch topology %s: %w", name, err)
	}
	// As Heron does once a launch succeeded: close the uploader, which lets
	// backends that kept a previous version for Undo (S3) drop it.
	if c, ok := up.(interface{ Close(context.Context) error }); ok {
		if cerr := c.Close(ctx); cerr != nil {
			opts.Log.Warn().Err(cerr).Msg("cannot close the uploader; a backup copy of the previous package may remain")
		}
	}
	return res, nil
}

// pack runs heron.class.packing.algorithm and rewrites topology.stmgrs when
// the plan's container count differs, as Heron's submitter does.
func pack(cfg *config.Config, top *apipb.Topology) (*packing.Plan, error) {
	name, err := cfg.ClassName(config.KeyPackingClass)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Config, err)
	}
	popts, err := packing.OptionsFrom(cfg)
	if err != nil {
		return nil, err
	}
	p, err := packing.New(name, popts)
	if err != nil {
		return nil, err
	}
	plan, err := p.Pack(top)
	if err != nil {
		return nil, err
	}
	if n, err := packing.NumContainers(top); err == nil && n != len(plan.Containers) {
		topology.SetConfig(top, packing.KeyStmgrs, strconv.Itoa(len(plan.Containers)))
	}
	return plan, nil
}

func countInstances(p *packing.Plan) int {
	n := 0
	for _, c := range p.Containers {
		n += len(c.Instances)
	}
	return n
}
