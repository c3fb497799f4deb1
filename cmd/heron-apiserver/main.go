// Command heron-apiserver is Heron's API server: submit, kill, activate,
// deactivate, restart and update topologies over HTTP, and serve topology
// packages and the core package to containers.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-apiserver/apiservercmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(apiservercmd.App())) }
