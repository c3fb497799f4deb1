package testscripts

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/heronkit/heronkit/lib/testserver"
)

// Params is the testscript setup shared by every script: HOME inside the
// work dir (so ~/.herondata never touches the real home), no process left
// behind, and the custom commands in commands.go.
func Params(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			// A script that fails halfway never reaches its kill: whatever
			// still runs in its work dir (a local topology's scheduler,
			// executors, instances) is killed when the script ends.
			e.Defer(func() { testserver.KillProcsUnder(e.WorkDir) })
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("CI", os.Getenv("CI"))
			return setup(t, e)
		},
		Cmds:      commands,
		Condition: condition,
	}
}
