// Package uploadcmd wires heron-upload's flags to lib/uploader.
package uploadcmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/pkgtar"
	"github.com/heronkit/heronkit/lib/submit"
	"github.com/heronkit/heronkit/lib/uploader"
	_ "github.com/heronkit/heronkit/lib/uploader/all" // every uploader backend
)

// App is heron-upload.
func App() cli.App {
	return cli.App{
		Name: "heron-upload",
		Description: "Put a topology package (topology.tar.gz) into the cluster's package storage with the uploader its uploader.yaml names, " +
			"and print {\"uri\": ...}; or fetch a package URI (file://, http://, https://, ...) and unpack it safely into a folder, as containers do.",
		CLI: &CLI{},
	}
}

// CLI is heron-upload's command line.
type CLI struct {
	cli.Globals

	Upload UploadCmd `cmd:"" default:"withargs" help:"Upload a package and print its URI (the default command)."`
	Fetch  FetchCmd  `cmd:"" help:"Download a package URI and unpack it into a folder."`
}

// UploadCmd uploads.
type UploadCmd struct {
	File           string   `arg:"" type:"existingfile" help:"The topology package (topology.tar.gz)."`
	Cluster        string   `name:"cluster" default:"local" placeholder:"CLUSTER[/ROLE[/ENV]]" help:"Cluster whose uploader.yaml is used; role and env name the package as Heron does."`
	Topology       string   `name:"topology" placeholder:"NAME" help:"Topology name for the package's storage name (default: from the package's <name>.defn)."`
	ConfigPath     string   `name:"config-path" type:"path" placeholder:"DIR" help:"Folder holding the cluster folders (default: $HERON_CONF_PATH, ../conf beside the binary, ~/.heron/conf, then the built-in clusters)."`
	ConfigProperty []string `name:"config-property" placeholder:"KEY=VALUE" help:"Override a cluster config key; repeatable."`
}

// Run uploads.
func (c *UploadCmd) Run(env *cli.Env) error {
	name := c.Topology
	if name == "" {
		n, err := pkgtar.DefnName(c.File)
		if err != nil {
			return exitcode.WithHint(err, "name the topology with --topology")
		}
		name = n
	}
	cre, err := config.ParseClusterRoleEnv(c.Cluster)
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	path := c.ConfigPath
	if path == "" {
		if path, err = config.FindConfigPath(cre.Cluster); err != nil {
			return exitcode.Wrap(exitcode.Config, err)
		}
	}
	cfg, err := submit.LoadConfig(submit.Target{Cluster: cre.Cluster, Role: cre.Role, Environ: cre.Environ, ConfigPath: path, Properties: c.ConfigProperty}, name, "")
	if err != nil {
		return err
	}
	up, err := uploader.New(cfg)
	if err != nil {
		return err
	}
	uri, err := up.Upload(env.Ctx, c.File)
	if err != nil {
		return err
	}
	return env.JSON(map[string]string{"uri": uri})
}

// FetchCmd fetches.
type FetchCmd struct {
	URI      string `arg:"" name:"uri" help:"Package URI: file:///path, http(s)://..., or a scheme a remote uploader registered."`
	Dir      string `arg:"" name:"dir" type:"path" help:"Folder to unpack into (created)."`
	MaxBytes int64  `name:"max-bytes" default:"1073741824" help:"Refuse packages whose contents exceed this many bytes."`
}

// Run fetches.
func (c *FetchCmd) Run(env *cli.Env) error {
	entries, err := uploader.Fetch(env.Ctx, c.URI, c.Dir, pkgtar.Limits{MaxBytes: c.MaxBytes})
	if err != nil {
		return err
	}
	return env.JSON(map[string]any{"uri": c.URI, "dir": c.Dir, "entries": len(entries)})
}
