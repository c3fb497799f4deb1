// Command heron-statemgr reads, writes, deletes and watches Heron
// state-manager nodes (local file system or ZooKeeper) as JSON.
package main

import (
	"os"

	"github.com/heronkit/heronkit/cmd/heron-statemgr/statemgrcmd"
	"github.com/heronkit/heronkit/lib/cli"
)

func main() { os.Exit(cli.Main(statemgrcmd.App())) }
