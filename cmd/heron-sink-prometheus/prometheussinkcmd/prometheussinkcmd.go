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
	return c.RunSink(env, prometheus.DefaultID, prometheus.New,
		sink.Opt(prometheus.KeyPort, c.Port),
		sink.Opt(prometheus.KeyPortFile, c.PortFile),
		sink.Opt(prometheus.KeyPath, c.Path),
		sink.Opt(prometheus.KeyListenHost, c.ListenHost),
		sink.OptSwitch(prometheus.KeyKeepServing, c.KeepServing))
}
