// Command heron-sink-graphite reads metrics records on stdin and delivers them; see graphitesinkcmd.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-sink-graphite/graphitesinkcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(graphitesinkcmd.App())) }
