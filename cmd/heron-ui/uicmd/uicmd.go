// Package uicmd wires heron-ui's flags to lib/ui.
package uicmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/ui"
)

// App is heron-ui.
func App() cli.App {
	return cli.App{
		Name: "heron-ui",
		Description: "Serve the Heron web UI: every topology of every cluster a tracker knows, their logical and physical plans, " +
			"metrics, exceptions, container files and logs. All data comes from the tracker's REST API (Heron 0.20.5 compatible), " +
			"proxied through this server; every asset is embedded, so no internet access is needed.\n\n" +
			"Once listening it prints one JSON line {\"listen\",\"url\",\"tracker_url\"} on stdout. " +
			"Endpoints: /topologies (the app), /healthz, /metrics (Prometheus).",
		CLI: &CLI{},
	}
}

// CLI is heron-ui's command line.
type CLI struct {
	cli.Globals
	TrackerURL string `name:"tracker-url" default:"http://127.0.0.1:8888" env:"HERON_TRACKER_URL" help:"Base URL of the heron-tracker (or Heron 0.20.5 tracker) to show."`
	Bind       string `default:"0.0.0.0" env:"HERON_UI_BIND" help:"Address to listen on; 0.0.0.0 means every interface (as Heron's UI)."`
	Port       int    `default:"8889" env:"HERON_UI_PORT" help:"TCP port to listen on; 0 picks a free one."`
	BaseURL    string `name:"base-url" default:"" env:"HERON_UI_BASE_URL" help:"Path prefix the UI is served under behind a reverse proxy, e.g. /heron."`
}

// Run serves until SIGINT or SIGTERM, then shuts down gracefully.
func (c *CLI) Run(env *cli.Env) error {
	return ui.Run(env.Ctx, ui.Options{TrackerURL: c.TrackerURL, Bind: c.Bind, Port: c.Port, BaseURL: c.BaseURL}, env.Log, env.Stdout)
}
