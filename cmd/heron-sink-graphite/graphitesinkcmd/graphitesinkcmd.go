// Package graphitesinkcmd is heron-sink-graphite's command line.
package graphitesinkcmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/graphite"
)

// App is the heron-sink-graphite binary.
func App() cli.App {
	return cli.App{
		Name: "heron-sink-graphite",
		Description: "Send metrics records (JSON lines on stdin) to Graphite's carbon over TCP in the plaintext protocol, " +
			"as Heron's GraphiteSink: <metrics_prefix>.<topology>.<source>.<metric> <value> <seconds>.",
		CLI: &CLI{},
	}
}

// CLI is the command line.
type CLI struct {
	cli.Globals
	sink.Flags
	sink.NetFlags

	GraphiteHost  *string `name:"graphite-host" placeholder:"HOST" help:"Carbon host (graphite_host)."`
	GraphitePort  *int64  `name:"graphite-port" placeholder:"PORT" help:"Carbon plaintext port (graphite_port), usually 2003."`
	MetricsPrefix *string `name:"metrics-prefix" placeholder:"PREFIX" help:"First element of every metric path (metrics_prefix), e.g. heron."`
}

// Run runs the sink until stdin ends or a signal arrives.
func (c *CLI) Run(env *cli.Env) error {
	return c.RunSink(env, graphite.DefaultID, graphite.New, &c.NetFlags,
		sink.Opt(graphite.KeyHost, c.GraphiteHost),
		sink.Opt(graphite.KeyPort, c.GraphitePort),
		sink.Opt(graphite.KeyPrefix, c.MetricsPrefix))
}
