// Command heron-executor runs one container of a native Heron topology with
// Heron's executor flags.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-executor/executorcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(executorcmd.App())) }
