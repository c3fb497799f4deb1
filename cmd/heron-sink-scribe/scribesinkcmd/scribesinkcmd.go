// Package scribesinkcmd is heron-sink-scribe's command line.
package scribesinkcmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/sink"
	"github.com/heronkit/heronkit/lib/sink/scribe"
)

// App is the heron-sink-scribe binary.
func App() cli.App {
	return cli.App{
		Name: "heron-sink-scribe",
		Description: "Send metrics records (JSON lines on stdin) to a Scribe server with Thrift's Log call, as Heron's ScribeSink: " +
			"one entry per record whose message is a JSON object of the service, source, time and metrics.",
		CLI: &CLI{},
	}
}

// CLI is the command line.
type CLI struct {
	cli.Globals
	sink.Flags
	sink.NetFlags

	ScribeHost       *string `name:"scribe-host" placeholder:"HOST" help:"Scribe server host (scribe-host; default 127.0.0.1)."`
	ScribePort       *int64  `name:"scribe-port" placeholder:"PORT" help:"Scribe server port (scribe-port; default 1463)."`
	ScribeCategory   *string `name:"scribe-category" placeholder:"NAME" help:"Category of every entry (scribe-category; default scribe-category)."`
	ServiceNamespace *string `name:"service-namespace" placeholder:"NAME" help:"Service is <namespace>/<topology> (service-namespace; default heron)."`
	ScribeTimeoutMs  *int64  `name:"scribe-timeout-ms" placeholder:"MS" help:"Connect and socket timeout in ms (scribe-timeout-ms; default 200)."`
}

// Run runs the sink until stdin ends or a signal arrives.
func (c *CLI) Run(env *cli.Env) error {
	return c.RunSink(env, scribe.DefaultID, scribe.New, &c.NetFlags,
		sink.Opt(scribe.KeyHost, c.ScribeHost),
		sink.Opt(scribe.KeyPort, c.ScribePort),
		sink.Opt(scribe.KeyCategory, c.ScribeCategory),
		sink.Opt(scribe.KeyNamespace, c.ServiceNamespace),
		sink.Opt(scribe.KeyTimeoutMs, c.ScribeTimeoutMs))
}
