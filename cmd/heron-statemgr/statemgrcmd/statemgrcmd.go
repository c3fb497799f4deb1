// Package statemgrcmd wires heron-statemgr's flags to lib/statemgr/statecmd.
package statemgrcmd

import (
	"github.com/heronkit/heronkit/lib/cli"
	"github.com/heronkit/heronkit/lib/clusterflags"
	"github.com/heronkit/heronkit/lib/statemgr"
	"github.com/heronkit/heronkit/lib/statemgr/statecmd"
)

// App is heron-statemgr.
func App() cli.App {
	return cli.App{
		Name:        "heron-statemgr",
		Description: "Read, write, delete and watch Heron state-manager nodes (local file system or ZooKeeper) as JSON.\n\nKinds: topology, packingplan, executionstate, schedulerlocation, tmanagerlocation, pplan, metricscachelocation, statefulcheckpoints.",
		CLI:         &CLI{},
	}
}

// CLI is heron-statemgr's command line.
type CLI struct {
	cli.Globals
	clusterflags.StateFlags

	List   ListCmd   `cmd:"" help:"List the topologies that have state."`
	Get    GetCmd    `cmd:"" help:"Print one node as JSON (or its raw bytes)."`
	Set    SetCmd    `cmd:"" help:"Write one node from JSON (or raw bytes) on stdin; validated before anything is written."`
	Delete DeleteCmd `cmd:"" help:"Delete one node; a missing node is not an error."`
	Watch  WatchCmd  `cmd:"" help:"Print one JSON line per change until interrupted."`
	Init   InitCmd   `cmd:"" help:"Create the root and the nine subtrees."`
}

type node struct {
	Kind     string `arg:"" help:"Node kind: topology, packingplan, executionstate, schedulerlocation, tmanagerlocation, pplan, metricscachelocation or statefulcheckpoints."`
	Topology string `arg:"" help:"Topology name."`
}

// withStore opens the selected state manager around run.
func (f *CLI) withStore(env *cli.Env, run func(statemgr.Store) error) error {
	s, err := f.Open(env.Ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return run(s)
}

// printer writes a command's result as one JSON line: printer(env)(op(...)).
func printer(env *cli.Env) func(map[string]any, error) error {
	return func(res map[string]any, err error) error {
		if err != nil {
			return err
		}
		return env.JSON(res)
	}
}

// ListCmd lists topologies.
type ListCmd struct{}

// Run lists.
func (c *ListCmd) Run(env *cli.Env, f *CLI) error {
	return f.withStore(env, func(s statemgr.Store) error { return statecmd.List(env.Ctx, s, env.Stdout) })
}

// GetCmd prints a node.
type GetCmd struct {
	node
	Raw bool `help:"Write the node's protobuf bytes instead of JSON."`
}

// Run gets.
func (c *GetCmd) Run(env *cli.Env, f *CLI) error {
	kind, err := statecmd.Kind(c.Kind)
	if err != nil {
		return err
	}
	return f.withStore(env, func(s statemgr.Store) error {
		return statecmd.Get(env.Ctx, s, kind, c.Topology, c.Raw, env.Stdout)
	})
}

// SetCmd writes a node.
type SetCmd struct {
	node
	Raw    bool `help:"Read protobuf bytes instead of JSON."`
	Create bool `help:"Fail if the node exists instead of overwriting it."`
}

// Run sets.
func (c *SetCmd) Run(env *cli.Env, f *CLI) error {
	kind, err := statecmd.Kind(c.Kind)
	if err != nil {
		return err
	}
	return f.withStore(env, func(s statemgr.Store) error {
		return printer(env)(statecmd.Set(env.Ctx, s, kind, c.Topology, c.Raw, c.Create, env.Stdin))
	})
}

// DeleteCmd deletes a node.
type DeleteCmd struct{ node }

// Run deletes.
func (c *DeleteCmd) Run(env *cli.Env, f *CLI) error {
	kind, err := statecmd.Kind(c.Kind)
	if err != nil {
		return err
	}
	return f.withStore(env, func(s statemgr.Store) error {
		return printer(env)(statecmd.Delete(env.Ctx, s, kind, c.Topology))
	})
}

// WatchCmd watches nodes.
type WatchCmd struct {
	Kind     string `arg:"" optional:"" help:"Node kind to watch (default: every kind)."`
	Topology string `arg:"" optional:"" help:"Topology to watch (default: every topology, including ones submitted later)."`
	Raw      bool   `help:"Print node bytes as base64 instead of decoded JSON."`
}

// Run watches.
func (c *WatchCmd) Run(env *cli.Env, f *CLI) error {
	var kinds []statemgr.Kind
	if c.Kind == "" || c.Kind == "all" {
		for _, k := range statemgr.Kinds {
			if k != statemgr.Locks {
				kinds = append(kinds, k)
			}
		}
	} else {
		k, err := statecmd.Kind(c.Kind)
		if err != nil {
			return err
		}
		kinds = []statemgr.Kind{k}
	}
	return f.withStore(env, func(s statemgr.Store) error {
		return statecmd.Watch(env.Ctx, s, kinds, c.Topology, c.Raw, env.Stdout)
	})
}

// InitCmd initialises the tree.
type InitCmd struct{}

// Run initialises.
func (c *InitCmd) Run(env *cli.Env, f *CLI) error {
	return f.withStore(env, func(s statemgr.Store) error { return printer(env)(statecmd.Init(env.Ctx, s)) })
}
