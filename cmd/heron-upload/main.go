// Command heron-upload puts a topology package into a cluster's package
// storage and prints its URI, or fetches a package URI back.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-upload/uploadcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(uploadcmd.App())) }
