// Command heron-submit runs the topology lifecycle against a cluster:
// submit, kill, activate, deactivate, restart, update and list.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-submit/submitcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(submitcmd.App())) }
