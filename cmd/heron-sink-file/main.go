// Command heron-sink-file reads metrics records on stdin and delivers them; see filesinkcmd.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-sink-file/filesinkcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(filesinkcmd.App())) }
