// Command heron-sink-scribe reads metrics records on stdin and delivers them; see scribesinkcmd.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-sink-scribe/scribesinkcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(scribesinkcmd.App())) }
