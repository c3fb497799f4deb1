// Package native holds the contract between heron-submit, which compiles a
// native topology YAML into a Heron Topology proto (the .defn), and
// heron-executor, which runs it: the config keys the compiler writes into each
// component's config and the environment each instance process gets.
package native

// Component config keys (in Component.config of the Topology proto).
const (
	// KeyCommand is the shell command of a spout or bolt, run with /bin/sh -c
	// in the container's working directory (the unpacked package).
	KeyCommand = "heron.native.command"
	// KeyMode is "raw" (one line = one single-field tuple) or "json" (one JSON
	// envelope per line, see docs/json-protocol.md).
	KeyMode = "heron.native.mode"
	// KeyParallelism is Heron's own key for a component's instance count.
	KeyParallelism = "topology.component.parallelism"
)

// Topology config keys Heron defines and the native runtime honours.
const (
	KeyReliabilityMode = "topology.reliability.mode" // ATMOST_ONCE | ATLEAST_ONCE | EFFECTIVELY_ONCE
	KeyMessageTimeout  = "topology.message.timeout.secs"
	KeyMaxSpoutPending = "topology.max.spout.pending"
	KeyContainers      = "topology.stmgrs"
	// KeyNative marks a topology as native, so the executor never looks for a Heron core.
	KeyNative = "heron.native.topology"
)

// Modes.
const (
	ModeRaw  = "raw"
	ModeJSON = "json"
)

// Environment variables every instance process receives.
const (
	EnvTopology    = "HERON_TOPOLOGY"
	EnvTopologyID  = "HERON_TOPOLOGY_ID"
	EnvComponent   = "HERON_COMPONENT"
	EnvTaskID      = "HERON_TASK_ID"
	EnvInstanceID  = "HERON_INSTANCE_ID"
	EnvIndex       = "HERON_COMPONENT_INDEX"
	EnvContainer   = "HERON_CONTAINER"
	EnvParallelism = "HERON_PARALLELISM"
)
