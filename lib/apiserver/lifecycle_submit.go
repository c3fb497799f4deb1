package apiserver

import (
	"context"
	"os"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/submit"
	_ "github.com/heronkit/heronkit/lib/uploader/all" // every uploader backend, Heron's HttpUploader included
)

// defaultLifecycle runs lib/submit, the library heron-submit runs, in this
// process with the request's configuration.
func defaultLifecycle(s *Server) Lifecycle { return library{s: s} }

type library struct{ s *Server }

func (l library) opts() submit.Options { return submit.Options{Log: l.s.log} }

// Submit launches the package the server prepared.
func (l library) Submit(ctx context.Context, job *SubmitJob) (any, error) {
	b, err := os.ReadFile(job.DefnFile)
	if err != nil {
		return nil, err
	}
	var top apipb.Topology
	if err := proto.Unmarshal(b, &top); err != nil {
		return nil, exitcode.Errorf(exitcode.DataErr, "the definition is not a Topology protobuf: %v", err)
	}
	res, err := submit.Launch(ctx, l.opts(), submit.LaunchRequest{
		Config:      job.Config,
		Topology:    &top,
		PackageFile: job.PackageFile,
		BinaryFile:  job.TopologyFile,
		DryRun:      job.DryRun,
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (l library) Kill(ctx context.Context, cfg *config.Config, t Target) error {
	_, err := submit.Kill(ctx, l.opts(), cfg, t.Name)
	return err
}

func (l library) Activate(ctx context.Context, cfg *config.Config, t Target) error {
	_, err := submit.Activate(ctx, l.opts(), cfg, t.Name)
	return err
}

func (l library) Deactivate(ctx context.Context, cfg *config.Config, t Target) error {
	_, err := submit.Deactivate(ctx, l.opts(), cfg, t.Name)
	return err
}

func (l library) Restart(ctx context.Context, cfg *config.Config, t Target, container int) error {
	_, err := submit.Restart(ctx, l.opts(), cfg, t.Name, container)
	return err
}

// errRuntimeConfig: Heron's server answers "updated" and does nothing; we
// say so instead.
var errRuntimeConfig = exitcode.New(exitcode.Usage,
	"runtime_config updates are not supported by heron-apiserver; change component_parallelism or container_number")

func (l library) Update(ctx context.Context, job *UpdateJob) (any, error) {
	if len(job.ComponentParallelism) == 0 && job.ContainerNumber == "" {
		return nil, errRuntimeConfig
	}
	par, err := submit.ParseParallelism(job.ComponentParallelism)
	if err != nil {
		return nil, err
	}
	req := submit.UpdateRequest{Parallelism: par, DryRun: job.DryRun}
	if job.ContainerNumber != "" {
		n, err := strconv.Atoi(strings.TrimSpace(job.ContainerNumber))
		if err != nil || n < 1 {
			return nil, exitcode.Errorf(exitcode.Usage, "container_number %s is not a positive number", quote(job.ContainerNumber))
		}
		req.Containers = n
	}
	res, err := submit.Update(ctx, l.opts(), job.Config, job.Name, req)
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (l library) List(ctx context.Context, cfg *config.Config) ([]TopologyInfo, error) {
	list, err := submit.List(ctx, l.opts(), cfg)
	if err != nil {
		return nil, err
	}
	out := make([]TopologyInfo, 0, len(list))
	for _, t := range list {
		info := TopologyInfo{Name: t.Name, ID: t.ID, Cluster: t.Cluster, Role: t.Role, Environment: t.Environ,
			State: t.State, SubmissionTime: t.SubmissionTime, SubmissionUser: t.SubmissionUser}
		if t.Containers > 0 {
			info.Extra = map[string]any{"containers": t.Containers, "instances": t.Instances}
		}
		out = append(out, info)
	}
	return out, nil
}
