// Package prometheussinkcmd is heron-sink-prometheus's command line.
package prometheussinkcmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/prometheus"
)

// App is the heron-sink-prometheus binary.
func App() cli.App {
	return cli.App{
		Name: "heron-sink-prometheus",
		Description: "Serve the latest value of every metric of the records on stdin (JSON lines) for Prometheus to scrape, " +
			"with Heron's PrometheusSink names, labels and renaming rules.",
		CLI: &CLI{},
	}
}

// CLI is the command line.
type CLI struct {
	cli.Globals
	sink.Flags

	Port        *int64  `name:"port" placeholder:"PORT" help:"Port to serve on (port)."`
	PortFile    *string `name:"port-file" placeholder:"FILE" help:"File whose first line is the port, used when port is 0 or unset (port-file)."`
	Path        *string `name:"path" placeholder:"PATH" help:"HTTP path of the metrics (path), e.g. /metrics."`
	ListenHost  *string `name:"listen-host" placeholder:"HOST" help:"Address to listen on (listen-host); all interfaces when empty."`
	KeepServing bool    `name:"keep-serving" help:"After stdin ends, keep serving the last values until SIGTERM (keep-serving)."`
}

// Run runs the sink until stdin ends (or, with --keep-serving, a signal arrives).
func (c *CLI) Run(env *cli.Env) error {
	cfg, err := c.Flags.Config(prometheus.DefaultID, env.Log)
	if err != nil {
		return err
	}
	sink.SetIf(cfg, prometheus.KeyPort, c.Port)
	sink.SetIf(cfg, prometheus.KeyPortFile, c.PortFile)
	sink.SetIf(cfg, prometheus.KeyPath, c.Path)
	sink.SetIf(cfg, prometheus.KeyListenHost, c.ListenHost)
	if c.KeepServing {
		cfg.Set(prometheus.KeyKeepServing, true)
	}
	return sink.Main(env, cfg, c.Flags.Context(), prometheus.New)
}
