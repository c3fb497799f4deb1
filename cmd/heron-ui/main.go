// Command heron-ui serves Heron's web UI over a tracker's REST API.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-ui/uicmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(uicmd.App())) }
