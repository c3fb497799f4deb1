// Package testscripts runs the txtar scripts in this folder against every
// heron-* binary, run in-process by testscript as if installed on PATH.
package testscripts

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/binaries"
	"github.com/heronkit/heronkit/lib/cli"
)

func TestMain(m *testing.M) {
	cmds := map[string]func(){}
	for name, app := range binaries.Apps {
		cmds[name] = func() { os.Exit(cli.Main(app())) }
	}
	testscript.Main(m, cmds)
}

func TestScripts(t *testing.T) {
	startSharedServers(t)
	testscript.Run(t, Params(t, "."))
}
