// Package submitcmd wires heron-submit's flags to lib/submit.
package submitcmd

import (
	"os"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/scheduler/local"
	"github.com/heronkit/heronkit/lib/submit"
	"github.com/heronkit/heronkit/lib/submit/remote"
)

// App is heron-submit.
func App() cli.App {
	return cli.App{
		Name: "heron-submit",
		Description: "Submit, kill, activate, deactivate, restart, update and list Heron topologies on a cluster.\n\n" +
			"The first argument is Heron's cluster[/role[/env]]; role defaults to the current user and env to \"default\". " +
			"Cluster folders are looked up in --config-path, else $HERON_CONF_PATH, else ../conf beside this binary, " +
			"else ~/.heron/conf, else the built-in clusters (local, localzk, ...). Every command prints one JSON object.",
		CLI: &CLI{},
	}
}

// CLI is heron-submit's command line.
type CLI struct {
	cli.Globals

	Submit         SubmitCmd         `cmd:"" help:"Submit a topology: a native topology YAML, or a Heron .jar/.tar/.pex/.so with --defn or its main class."`
	Kill           KillCmd           `cmd:"" help:"Stop a topology and remove its state."`
	Activate       ActivateCmd       `cmd:"" help:"Run a paused topology."`
	Deactivate     DeactivateCmd     `cmd:"" help:"Pause a running topology."`
	Restart        RestartCmd        `cmd:"" help:"Restart one container of a topology, or all of them."`
	Update         UpdateCmd         `cmd:"" help:"Change component parallelism: repack, write the new plan and apply it."`
	List           ListCmd           `cmd:"" help:"List the topologies of a cluster."`
	LocalScheduler LocalSchedulerCmd `cmd:"" name:"local-scheduler" hidden:"" help:"Run the local scheduler of one topology (started by submit)."`
}

// common are the flags of every cluster command.
type common struct {
	Cluster        string   `arg:"" name:"cluster[/role[/env]]" help:"Cluster, optionally with role and environ: local, local/streamer, local/streamer/prod."`
	ConfigPath     string   `name:"config-path" type:"path" placeholder:"DIR" help:"Folder holding the cluster folders (default: $HERON_CONF_PATH, ../conf beside the binary, ~/.heron/conf, then the built-in clusters)."`
	ConfigProperty []string `name:"config-property" placeholder:"KEY=VALUE" help:"Override a cluster config key (Heron's --config-property); repeatable."`
	Verbose        bool     `help:"Log debug messages on stderr."`
	ServiceURL     string   `name:"service-url" env:"HERON_SERVICE_URL" placeholder:"URL" help:"Run the command through the heron-apiserver at URL (Heron's server mode): the server's cluster configuration is used."`
	ServiceToken   string   `name:"service-token" env:"HERON_APISERVER_TOKEN" placeholder:"TOKEN" help:"Bearer token for --service-url."`
}

// viaService runs one lifecycle command through the API server named by
// --service-url and prints its result, as the local path would.
func (c *common) viaService(env *cli.Env, run func(remote.Service, remote.Where) (any, error)) error {
	svc, w, err := c.remote()
	if err != nil {
		return err
	}
	res, err := run(svc, w)
	if err != nil {
		return err
	}
	return env.JSON(res)
}

// remote returns the API server and cluster/role/env of a --service-url run.
func (c *common) remote() (remote.Service, remote.Where, error) {
	cre, err := config.ParseClusterRoleEnv(c.Cluster)
	if err != nil {
		return remote.Service{}, remote.Where{}, exitcode.Wrap(exitcode.Usage, err)
	}
	return remote.Service{URL: c.ServiceURL, Token: c.ServiceToken}, remote.Where{Cluster: cre.Cluster, Role: cre.Role, Environ: cre.Environ}, nil
}

func (c *common) target() (submit.Target, error) {
	cre, err := config.ParseClusterRoleEnv(c.Cluster)
	if err != nil {
		return submit.Target{}, exitcode.Wrap(exitcode.Usage, err)
	}
	path := c.ConfigPath
	if path == "" {
		if path, err = config.FindConfigPath(cre.Cluster); err != nil {
			return submit.Target{}, exitcode.Wrap(exitcode.Config, err)
		}
	}
	return submit.Target{Cluster: cre.Cluster, Role: cre.Role, Environ: cre.Environ, ConfigPath: path, Properties: c.ConfigProperty}, nil
}

func (c *common) opts(env *cli.Env) submit.Options {
	if c.Verbose {
		env.Log = env.Log.Level(zerolog.DebugLevel)
	}
	return submit.Options{Log: env.Log, ChildStderr: env.Stderr}
}

// config loads the target's config for one topology.
func (c *common) config(name string) (*config.Config, error) {
	t, err := c.target()
	if err != nil {
		return nil, err
	}
	return submit.LoadConfig(t, name, "")
}

// SubmitCmd is "submit".
type SubmitCmd struct {
	common
	File              string   `arg:"" name:"topology-file" help:"Topology YAML, or a Heron .jar, .tar, .tar.gz, .pex, .so or .dylib (or a URI of a .tar.gz holding one)."`
	Class             string   `arg:"" optional:"" name:"class" help:"Main class (jar, tar, pex; - runs a pex) or the executable that writes the .defn (so, dylib)."`
	Args              []string `arg:"" optional:"" name:"topology-args" help:"Arguments for the topology program (after -- when they start with a dash)."`
	Defn              string   `name:"defn" type:"existingfile" placeholder:"FILE" help:"A precomputed <name>.defn (serialized Topology) to submit with a Heron topology file, instead of running its program."`
	DeployDeactivated bool     `name:"deploy-deactivated" help:"Start the topology paused."`
	DryRun            bool     `name:"dry-run" help:"Print what would be packaged, written to the state manager and launched; change nothing."`
	ReleaseYAMLFile   string   `name:"release-yaml-file" type:"existingfile" placeholder:"FILE" help:"A release.yaml to package with the topology."`
	JVMProperty       []string `name:"topology-main-jvm-property" placeholder:"P=V" help:"A -D property for the JVM that runs a topology's main class; repeatable."`
}

// Run submits.
func (c *SubmitCmd) Run(env *cli.Env) error {
	if c.ServiceURL != "" {
		return c.viaService(env, func(svc remote.Service, w remote.Where) (any, error) {
			return remote.Submit(env.Ctx, svc, remote.SubmitRequest{Where: w, File: c.File, Defn: c.Defn,
				ClassName: c.Class, Args: c.Args, JVMProperties: c.JVMProperty, ConfigPath: c.ConfigPath,
				Properties: c.ConfigProperty, DeployDeactivated: c.DeployDeactivated, DryRun: c.DryRun, Options: c.opts(env)})
		})
	}
	t, err := c.target()
	if err != nil {
		return err
	}
	t.ReleaseFile = c.ReleaseYAMLFile
	res, err := submit.Submit(env.Ctx, c.opts(env), submit.SubmitRequest{
		Target: t, File: c.File, ClassName: c.Class, Args: c.Args, Defn: c.Defn, JVMProperties: c.JVMProperty,
		DeployDeactivated: c.DeployDeactivated, DryRun: c.DryRun, ReleaseVersion: cli.Version,
	})
	if err != nil {
		return err
	}
	return env.JSON(res)
}

type named struct {
	common
	Topology string `arg:"" name:"topology" help:"Topology name."`
}

// KillCmd is "kill".
type KillCmd struct {
	named
	DryRun bool `name:"dry-run" help:"Print the scheduler call and the state nodes (in deletion order) a kill would make and delete; change nothing."`
}

// Run kills.
func (c *KillCmd) Run(env *cli.Env) error {
	if c.ServiceURL != "" {
		if c.DryRun {
			return remote.NoDryRun("kill")
		}
		return c.viaService(env, func(svc remote.Service, w remote.Where) (any, error) {
			return remote.Kill(env.Ctx, svc, w, c.Topology)
		})
	}
	cfg, err := c.config(c.Topology)
	if err != nil {
		return err
	}
	kill := submit.Kill
	if c.DryRun {
		kill = submit.KillDryRun
	}
	res, err := kill(env.Ctx, c.opts(env), cfg, c.Topology)
	if err != nil {
		return err
	}
	return env.JSON(res)
}

// ActivateCmd is "activate".
type ActivateCmd struct {
	named
	DryRun bool `name:"dry-run" help:"Print the topology manager request activate would make; change nothing."`
}

// Run activates.
func (c *ActivateCmd) Run(env *cli.Env) error {
	if c.ServiceURL != "" {
		if c.DryRun {
			return remote.NoDryRun("activate")
		}
		return c.viaService(env, func(svc remote.Service, w remote.Where) (any, error) {
			return remote.Activate(env.Ctx, svc, w, c.Topology)
		})
	}
	cfg, err := c.config(c.Topology)
	if err != nil {
		return err
	}
	run := submit.Activate
	if c.DryRun {
		run = submit.ActivateDryRun
	}
	res, err := run(env.Ctx, c.opts(env), cfg, c.Topology)
	if err != nil {
		return err
	}
	return env.JSON(res)
}

// DeactivateCmd is "deactivate".
type DeactivateCmd struct {
	named
	DryRun bool `name:"dry-run" help:"Print the topology manager request deactivate would make; change nothing."`
}

// Run deactivates.
func (c *DeactivateCmd) Run(env *cli.Env) error {
	if c.ServiceURL != "" {
		if c.DryRun {
			return remote.NoDryRun("deactivate")
		}
		return c.viaService(env, func(svc remote.Service, w remote.Where) (any, error) {
			return remote.Deactivate(env.Ctx, svc, w, c.Topology)
		})
	}
	cfg, err := c.config(c.Topology)
	if err != nil {
		return err
	}
	run := submit.Deactivate
	if c.DryRun {
		run = submit.DeactivateDryRun
	}
	res, err := run(env.Ctx, c.opts(env), cfg, c.Topology)
	if err != nil {
		return err
	}
	return env.JSON(res)
}

// RestartCmd is "restart".
type RestartCmd struct {
	named
	ContainerID *int `arg:"" optional:"" name:"container-id" help:"Container to restart (Heron's positional form); all when omitted."`
	Container   *int `name:"container" placeholder:"N" help:"Container to restart: 0 is the topology manager; all when omitted."`
	DryRun      bool `name:"dry-run" help:"Print the scheduler call (and the state node) a restart would make (and delete); change nothing."`
}

// Run restarts.
func (c *RestartCmd) Run(env *cli.Env) error {
	n := -1
	switch {
	case c.Container != nil:
		n = *c.Container
	case c.ContainerID != nil:
		n = *c.ContainerID
	}
	if c.ServiceURL != "" {
		if c.DryRun {
			return remote.NoDryRun("restart")
		}
		return c.viaService(env, func(svc remote.Service, w remote.Where) (any, error) {
			return remote.Restart(env.Ctx, svc, w, c.Topology, n)
		})
	}
	cfg, err := c.config(c.Topology)
	if err != nil {
		return err
	}
	restart := submit.Restart
	if c.DryRun {
		restart = submit.RestartDryRun
	}
	res, err := restart(env.Ctx, c.opts(env), cfg, c.Topology, n)
	if err != nil {
		return err
	}
	return env.JSON(res)
}

// UpdateCmd is "update".
type UpdateCmd struct {
	named
	ComponentParallelism []string `name:"component-parallelism" placeholder:"COMPONENT:N" help:"New parallelism of a component; repeatable."`
	ContainerNumber      int      `name:"container-number" placeholder:"N" help:"New number of containers (round-robin packing only)."`
	DryRun               bool     `name:"dry-run" help:"Print the current and proposed packing plans; change nothing."`
}

// Run updates.
func (c *UpdateCmd) Run(env *cli.Env) error {
	par, err := submit.ParseParallelism(c.ComponentParallelism)
	if err != nil {
		return err
	}
	if c.ServiceURL != "" {
		return c.viaService(env, func(svc remote.Service, w remote.Where) (any, error) {
			return remote.Update(env.Ctx, svc, w, c.Topology, submit.UpdateRequest{Parallelism: par, Containers: c.ContainerNumber, DryRun: c.DryRun})
		})
	}
	cfg, err := c.config(c.Topology)
	if err != nil {
		return err
	}
	res, err := submit.Update(env.Ctx, c.opts(env), cfg, c.Topology, submit.UpdateRequest{Parallelism: par, Containers: c.ContainerNumber, DryRun: c.DryRun})
	if err != nil {
		return err
	}
	return env.JSON(res)
}

// ListCmd is "list".
type ListCmd struct{ common }

// Run lists.
func (c *ListCmd) Run(env *cli.Env) error {
	if c.ServiceURL != "" {
		svc, w, err := c.remote()
		if err != nil {
			return err
		}
		list, err := remote.List(env.Ctx, svc, w)
		if err != nil {
			return err
		}
		return env.JSON(map[string]any{"action": "list", "cluster": w.Cluster, "topologies": list})
	}
	cfg, err := c.config("")
	if err != nil {
		return err
	}
	t, err := c.target()
	if err != nil {
		return err
	}
	list, err := submit.List(env.Ctx, c.opts(env), cfg)
	if err != nil {
		return err
	}
	return env.JSON(map[string]any{"action": "list", "cluster": t.Cluster, "topologies": list})
}

// LocalSchedulerCmd is the hidden "local-scheduler" the local launcher starts.
type LocalSchedulerCmd struct {
	Args []string `arg:"" optional:"" passthrough:"" help:"--cluster, --role, --environment, --topology-name, --topology-bin, --http-port."`
}

// Run serves until the topology is killed.
func (c *LocalSchedulerCmd) Run(env *cli.Env) error {
	o, err := local.ParseServeArgs(c.Args)
	if err != nil {
		return err
	}
	if wd, err := os.Getwd(); err == nil {
		env.Log = env.Log.With().Str("topology", o.Topology).Str("dir", wd).Logger()
	}
	return local.Serve(env.Ctx, o, env.Log)
}
