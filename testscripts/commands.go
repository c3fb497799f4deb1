package testscripts

import (
	"fmt"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// commands are the custom script commands (starting servers, waiting for
// ports, checking JSON). Each area adds its own in its own file via init.
var commands = map[string]func(ts *testscript.TestScript, neg bool, args []string){}

// setups run for every script, e.g. to export a server address.
var setups []func(t *testing.T, e *testscript.Env) error

// conditions answer [name] conditions in scripts.
var conditions = map[string]func() (bool, error){}

func setup(t *testing.T, e *testscript.Env) error {
	for _, s := range setups {
		if err := s(t, e); err != nil {
			return err
		}
	}
	return nil
}

func condition(cond string) (bool, error) {
	if f, ok := conditions[cond]; ok {
		return f()
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}
