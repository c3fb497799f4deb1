// Package executorcmd wires heron-executor's flags (Heron's executor flags)
// to lib/executor.
package executorcmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/executor"
)

// App is heron-executor.
func App() cli.App {
	return cli.App{
		Name: "heron-executor",
		Description: "Run one container of a topology. A native topology (made of Unix commands) runs without a JVM: " +
			"the topology manager on shard 0; the stream manager, metrics manager, heron-shell endpoints and the instance " +
			"processes on every other shard. Any other topology runs Heron's own processes from ./heron-core with the " +
			"command lines Heron's executor builds. Takes Heron's executor flags; runs in the container's working directory " +
			"(the unpacked topology package).",
		CLI: &CLI{},
	}
}

// CLI is heron-executor's command line: Heron's executor flags.
type CLI struct {
	cli.Globals
	executor.Args `embed:""`
}

// Run runs the container until SIGTERM.
func (c *CLI) Run(env *cli.Env) error {
	return executor.Run(env.Ctx, c.Args, executor.Options{Stderr: env.Stderr, LogLevel: c.LogLevel, LogFormat: c.LogFormat})
}
