// Package apiservercmd wires heron-apiserver's flags to lib/apiserver.
package apiservercmd

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/heronkit/heronkit/lib/apiserver"
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/serviceclient"
)

// App is heron-apiserver.
func App() cli.App {
	return cli.App{
		Name: "heron-apiserver",
		Description: "Heron's API server: submit, kill, activate, deactivate, restart and update topologies over HTTP " +
			"with the cluster's configuration set once here, list topologies and their states, and serve topology " +
			"packages (Heron's HttpUploader target) and the core package to containers.\n\n" +
			"Once listening it prints one JSON line {\"listen\",\"url\",\"cluster\",\"config_path\"} on stdout. " +
			"Endpoints: /api/v1/... (Heron's), /healthz, /metrics (Prometheus).",
		CLI: &CLI{},
	}
}

// CLI is heron-apiserver's command line: Heron's flags first, then ours.
type CLI struct {
	cli.Globals
	Cluster          string   `required:"" env:"HERON_CLUSTER" help:"Cluster served; submits naming another cluster are refused."`
	BaseTemplate     string   `name:"base-template" placeholder:"NAME" help:"Use the shipped cluster folder NAME (conf/NAME) as the configuration."`
	ConfigPath       string   `name:"config-path" type:"path" placeholder:"DIR" help:"Cluster folder to use as is (Heron's meaning); a folder holding <cluster>/ works too. Wins over --base-template. Default: the folder of --cluster."`
	Port             int      `default:"9000" env:"HERON_APISERVER_PORT" help:"TCP port to listen on; 0 picks a free one."`
	Property         []string `name:"config-property" short:"D" sep:"none" placeholder:"KEY=VALUE" help:"Override a cluster config key for every request (Heron's -D); repeatable."`
	DownloadHostname string   `name:"download-hostname" placeholder:"HOST" help:"Host name put into the download URLs that /api/v1/file/upload returns (default: this machine's host name)."`
	CorePackagePath  string   `name:"heron-core-package-path" type:"path" placeholder:"FILE" help:"File served at /api/v1/file/download/core (the core package heron.package.core.uri can point at)."`
	Verbose          bool     `help:"Log at debug level."`
	ReleaseFile      string   `name:"release-file" type:"existingfile" placeholder:"FILE" help:"Heron release.yaml whose heron.build.* keys /api/v1/version shows (default: this build's own version)."`

	Bind            string        `default:"" env:"HERON_APISERVER_BIND" help:"Address to listen on; empty means every interface (as Heron)."`
	UploadDir       string        `name:"upload-dir" type:"path" placeholder:"DIR" help:"Directory of the file server; wins over heron.apiserver.http.file.system.directory (default ~/.herondata/apiserver/files)."`
	MaxUploadSize   string        `name:"max-upload-size" default:"1GiB" placeholder:"SIZE" help:"Largest file accepted by uploads and submits (e.g. 512MiB); larger ones are refused with 413 while streaming."`
	TokenFile       string        `name:"token-file" type:"existingfile" placeholder:"FILE" help:"File holding the bearer token that mutating requests (submit, kill, upload...) must send. Default: $HERON_APISERVER_TOKEN; none means no authentication."`
	TLSCert         string        `name:"tls-cert" type:"existingfile" placeholder:"FILE" help:"PEM certificate: serve HTTPS (with --tls-key)."`
	TLSKey          string        `name:"tls-key" type:"existingfile" placeholder:"FILE" help:"PEM private key of --tls-cert."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" default:"30s" help:"On SIGTERM, how long running requests may take to finish."`
}

// Run serves until SIGINT or SIGTERM, then shuts down gracefully.
func (c *CLI) Run(env *cli.Env) error {
	dir, err := c.clusterDir()
	if err != nil {
		return err
	}
	limit, err := apiserver.ParseSize(c.MaxUploadSize)
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	token := os.Getenv(serviceclient.EnvToken)
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return exitcode.Wrap(exitcode.Config, err)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return exitcode.Errorf(exitcode.Config, "token file %s is empty", c.TokenFile)
		}
	}
	log := env.Log
	if c.Verbose {
		log = log.Level(zerolog.DebugLevel)
	}
	return apiserver.Run(env.Ctx, apiserver.Options{
		Cluster:          c.Cluster,
		ConfigDir:        dir,
		Properties:       c.Property,
		ReleaseFile:      c.ReleaseFile,
		Addr:             net.JoinHostPort(c.Bind, strconv.Itoa(c.Port)),
		DownloadHostname: c.DownloadHostname,
		CorePackagePath:  c.CorePackagePath,
		UploadDir:        c.UploadDir,
		MaxUploadBytes:   limit,
		Token:            token,
		TLSCert:          c.TLSCert,
		TLSKey:           c.TLSKey,
		ShutdownTimeout:  c.ShutdownTimeout,
		Log:              log,
		Ready: func(addr, url string) {
			_ = env.JSON(map[string]string{"listen": addr, "url": url, "cluster": c.Cluster, "config_path": dir})
		},
	})
}

// clusterDir picks the cluster folder as Heron's API server does:
// --config-path as is, else --base-template, else the --cluster folder.
func (c *CLI) clusterDir() (string, error) {
	if c.ConfigPath != "" {
		if isClusterFolder(c.ConfigPath) {
			return c.ConfigPath, nil
		}
		if sub := filepath.Join(c.ConfigPath, c.Cluster); isClusterFolder(sub) {
			return sub, nil
		}
		return "", exitcode.Errorf(exitcode.Config, "--config-path %s holds no cluster YAML files (nor a folder %s/)", c.ConfigPath, c.Cluster)
	}
	name := c.Cluster
	if c.BaseTemplate != "" {
		name = c.BaseTemplate
	}
	parent, err := config.FindConfigPath(name)
	if err != nil {
		return "", exitcode.Wrap(exitcode.Config, err)
	}
	return filepath.Join(parent, name), nil
}

func isClusterFolder(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	return len(m) > 0
}
