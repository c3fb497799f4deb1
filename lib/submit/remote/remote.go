// Package remote runs the topology lifecycle through an API server
// (heron-submit --service-url): the same commands and results as lib/submit,
// but the cluster's configuration, state manager and scheduler are the
// server's. As Heron's CLI in server mode does, a submit compiles the
// topology definition locally and sends it with the topology's files; the
// server packages and launches it.
package remote

import (
	"context"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/serviceclient"
	"github.com/heronkit/heronkit/lib/statemgr/nodes"
	"github.com/heronkit/heronkit/lib/submit"
	"github.com/heronkit/heronkit/lib/topology"
)

// Service says which API server to use.
type Service struct {
	// URL is the server's base URL (--service-url).
	URL string
	// Token is its bearer token (--service-token, else $HERON_APISERVER_TOKEN).
	Token string
	// CAFile is a PEM bundle to trust for https.
	CAFile string
}

func (s Service) client() (*serviceclient.Client, error) {
	tok := s.Token
	if tok == "" {
		tok = os.Getenv(serviceclient.EnvToken)
	}
	return serviceclient.New(s.URL, serviceclient.Options{Token: tok, CAFile: s.CAFile})
}

// Where is cluster/role/env with Heron's server-mode defaults: role the
// current user, environ "default".
type Where struct {
	Cluster, Role, Environ string
}

func (w Where) filled() Where {
	if w.Role == "" {
		w.Role = currentUser()
	}
	if w.Environ == "" {
		w.Environ = config.DefaultEnviron
	}
	return w
}

func (w Where) target(name string) serviceclient.Target {
	return serviceclient.Target{Cluster: w.Cluster, Role: w.Role, Environ: w.Environ, Name: name}
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// SubmitRequest is a submit through the server.
type SubmitRequest struct {
	Where
	// File is a native topology YAML or a Heron topology file (.jar, .tar,
	// .tar.gz, .pex, .so, .dylib).
	File string
	// Defn is a precomputed <name>.defn for a Heron topology file; without
	// it the file's program is run here, as a local submit runs it
	// (submit.BinaryTopologies).
	Defn string
	// ClassName, Args, JVMProperties and ConfigPath are those of
	// submit.TopologyProgram.
	ClassName     string
	Args          []string
	JVMProperties []string
	ConfigPath    string
	// Properties are --config-property KEY=VALUE items, sent as form fields.
	Properties        []string
	DeployDeactivated bool
	DryRun            bool
	// Options log the program's run and take its output.
	Options submit.Options
}

// Submit compiles the definition locally, as Heron's CLI does in server
// mode (the YAML compiled, or the topology program run), and posts each
// topology with its files. The result has lib/submit's shape.
func Submit(ctx context.Context, svc Service, req SubmitRequest) (*submit.SubmitResult, error) {
	c, err := svc.client()
	if err != nil {
		return nil, err
	}
	w := req.filled()
	tmp, err := os.MkdirTemp("", "heron-submit-remote-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	state := apipb.TopologyState_RUNNING
	if req.DeployDeactivated {
		state = apipb.TopologyState_PAUSED
	}
	sr := serviceclient.SubmitRequest{Cluster: w.Cluster, Role: w.Role, Environment: w.Environ,
		User: currentUser(), Properties: req.Properties, DryRun: req.DryRun}
	var tops []*apipb.Topology
	switch l := strings.ToLower(req.File); {
	case strings.HasSuffix(l, ".yaml") || strings.HasSuffix(l, ".yml"):
		if req.Defn != "" {
			return nil, exitcode.Errorf(exitcode.Usage, "--defn is for Heron topology binaries; a YAML topology is compiled by heron-submit")
		}
		def, err := topology.Load(req.File)
		if err != nil {
			return nil, err
		}
		top, err := def.Compile(topology.CompileOptions{State: state})
		if err != nil {
			return nil, err
		}
		tops = append(tops, top)
		sr.TopologyDir, sr.MainFile = def.Dir, filepath.Base(req.File)
	default:
		prog := submit.TopologyProgram{File: req.File, ClassName: req.ClassName, Args: req.Args, JVMProperties: req.JVMProperties,
			State: state, Cluster: w.Cluster, Role: w.Role, Environ: w.Environ, SubmitUser: sr.User, ConfigPath: req.ConfigPath}
		if tops, err = submit.BinaryTopologies(ctx, req.Options, prog, req.Defn, tmp); err != nil {
			return nil, err
		}
		if st, err := os.Stat(req.File); err != nil || !st.Mode().IsRegular() {
			return nil, exitcode.Errorf(exitcode.NotFound, "topology file %s does not exist", req.File)
		}
		sr.TopologyFile = req.File
	}
	out := &submit.SubmitResult{Action: "submit", Cluster: w.Cluster, Role: w.Role, Environ: w.Environ, DryRun: req.DryRun}
	for _, top := range tops {
		// Heron's client copies role and environ into the topology config;
		// the server packs.
		submit.SetTeam(top, w.Role, w.Environ)
		defn, err := nodes.Marshal(top)
		if err != nil {
			return nil, err
		}
		sr.Name = top.GetName()
		sr.Definition = filepath.Join(tmp, sr.Name+".defn")
		if err := os.WriteFile(sr.Definition, defn, 0o644); err != nil {
			return nil, err
		}
		res, err := c.Submit(ctx, sr)
		if err != nil {
			return nil, err
		}
		tr := submit.TopologyResult{Name: top.GetName(), ID: top.GetId(), State: top.GetState().String()}
		if req.DryRun && len(res.Response) > 0 {
			// The server's dry run is lib/submit's own result.
			if err := json.Unmarshal(res.Response, &tr); err != nil {
				return nil, exitcode.Errorf(exitcode.DataErr, "the API server's dry run is not a submit result: %v", err)
			}
		}
		out.Topologies = append(out.Topologies, tr)
	}
	return out, nil
}

// NoDryRun is the refusal of a --dry-run kill, activate, deactivate or
// restart through an API server: Heron's server takes no dry-run field on
// those routes (only submit and update have one), so the request would run
// for real.
func NoDryRun(action string) error {
	return exitcode.WithHint(exitcode.Errorf(exitcode.Usage, "%s --dry-run cannot go through --service-url: the API server has no dry run for %s", action, action),
		"drop --service-url and give the cluster's configuration (--config-path) to see what "+action+" would do")
}

func result(action string, w Where, name string) *submit.Result {
	return &submit.Result{Action: action, Topology: name, Cluster: w.Cluster, Role: w.Role, Environ: w.Environ}
}

// Kill stops a topology and removes its state.
func Kill(ctx context.Context, svc Service, where Where, name string) (*submit.Result, error) {
	c, err := svc.client()
	if err != nil {
		return nil, err
	}
	w := where.filled()
	if _, err := c.Kill(ctx, w.target(name)); err != nil {
		return nil, err
	}
	r := result("kill", w, name)
	r.State = "KILLED"
	return r, nil
}

// Activate runs a paused topology.
func Activate(ctx context.Context, svc Service, where Where, name string) (*submit.Result, error) {
	c, err := svc.client()
	if err != nil {
		return nil, err
	}
	w := where.filled()
	if _, err := c.Activate(ctx, w.target(name)); err != nil {
		return nil, err
	}
	r := result("activate", w, name)
	r.State = apipb.TopologyState_RUNNING.String()
	return r, nil
}

// Deactivate pauses a running topology.
func Deactivate(ctx context.Context, svc Service, where Where, name string) (*submit.Result, error) {
	c, err := svc.client()
	if err != nil {
		return nil, err
	}
	w := where.filled()
	if _, err := c.Deactivate(ctx, w.target(name)); err != nil {
		return nil, err
	}
	r := result("deactivate", w, name)
	r.State = apipb.TopologyState_PAUSED.String()
	return r, nil
}

// Restart restarts one container, or all with -1.
func Restart(ctx context.Context, svc Service, where Where, name string, container int) (*submit.Result, error) {
	c, err := svc.client()
	if err != nil {
		return nil, err
	}
	w := where.filled()
	if _, err := c.Restart(ctx, w.target(name), container); err != nil {
		return nil, err
	}
	r := result("restart", w, name)
	r.Container = &container
	return r, nil
}

// Update changes parallelism and/or the container count.
func Update(ctx context.Context, svc Service, where Where, name string, req submit.UpdateRequest) (*submit.Result, error) {
	c, err := svc.client()
	if err != nil {
		return nil, err
	}
	w := where.filled()
	u := serviceclient.UpdateRequest{DryRun: req.DryRun}
	for comp, n := range req.Parallelism {
		u.ComponentParallelism = append(u.ComponentParallelism, comp+":"+itoa(n))
	}
	if req.Containers > 0 {
		u.ContainerNumber = itoa(req.Containers)
	}
	res, err := c.Update(ctx, w.target(name), u)
	if err != nil {
		return nil, err
	}
	r := result("update", w, name)
	if len(res.Response) > 0 {
		if err := json.Unmarshal(res.Response, r); err != nil {
			return nil, exitcode.Errorf(exitcode.DataErr, "the API server's dry run is not an update result: %v", err)
		}
	}
	r.DryRun = req.DryRun
	return r, nil
}

// List reports the server cluster's topologies.
func List(ctx context.Context, svc Service, where Where) ([]submit.TopologyInfo, error) {
	c, err := svc.client()
	if err != nil {
		return nil, err
	}
	list, err := c.List(ctx, serviceclient.ListFilter{})
	if err != nil {
		return nil, err
	}
	out := make([]submit.TopologyInfo, 0, len(list))
	for _, t := range list {
		info := submit.TopologyInfo{Name: t.Name, ID: t.ID, Cluster: t.Cluster, Role: t.Role, Environ: t.Environment,
			State: t.State, SubmissionTime: t.SubmissionTime, SubmissionUser: t.SubmissionUser}
		if n, ok := t.Extra["containers"].(float64); ok {
			info.Containers = int(n)
		}
		if n, ok := t.Extra["instances"].(float64); ok {
			info.Instances = int(n)
		}
		out = append(out, info)
	}
	return out, nil
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
