// Command heron-tracker serves Heron's tracker REST API over the state managers it watches.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-tracker/trackercmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(trackercmd.App())) }
