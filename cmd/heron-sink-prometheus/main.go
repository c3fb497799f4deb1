// Command heron-sink-prometheus reads metrics records on stdin and delivers them; see prometheussinkcmd.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-sink-prometheus/prometheussinkcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(prometheussinkcmd.App())) }
