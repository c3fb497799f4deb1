package testscripts

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// Params is the testscript setup shared by every script: HOME inside the
// work dir (so ~/.herondata never touches the real home), plain log output,
// and the custom commands in commands.go.
func Params(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("CI", os.Getenv("CI"))
			return setup(t, e)
		},
		Cmds:      commands,
		Condition: condition,
	}
}
