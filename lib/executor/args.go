package executor

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
)

// Args are Heron's executor flags (heron_executor.py), accepted in both the
// --name=value and --name value forms. Flags that only matter to Heron's
// Java and C++ processes are accepted and ignored by the native runtime, so
// that a scheduler can build the same command line for both; the flags the
// native runtime needs are required.
type Args struct {
	Shard                  int    `name:"shard" required:"" help:"Container index; 0 runs the topology manager."`
	TopologyName           string `name:"topology-name" required:"" help:"Topology name."`
	TopologyID             string `name:"topology-id" required:"" help:"Topology id."`
	TopologyDefnFile       string `name:"topology-defn-file" required:"" help:"Serialized Topology proto (<name>.defn) in the working directory."`
	StateManagerConnection string `name:"state-manager-connection" required:"" help:"ZooKeeper host:port list, or LOCALMODE for the local file system."`
	StateManagerRoot       string `name:"state-manager-root" required:"" help:"State root path."`
	StateManagerConfigFile string `name:"state-manager-config-file" default:"./heron-conf/statemgr.yaml" help:"statemgr.yaml."`

	ServerPort             int `name:"server-port" required:"" help:"Topology manager server port (shard 0) or stream manager data port; 0 picks a free one and reports it in state (native topologies)."`
	TmanagerControllerPort int `name:"tmanager-controller-port" required:"" help:"Topology manager controller HTTP port (shard 0) or stream manager local data port; 0 picks a free one (native topologies)."`
	TmanagerStatsPort      int `name:"tmanager-stats-port" required:"" help:"Topology manager stats HTTP port (shard 0); 0 picks a free one (native topologies)."`
	ShellPort              int `name:"shell-port" required:"" help:"heron-shell HTTP port; 0 picks a free one and reports it in the physical plan (native topologies)."`
	MetricsManagerPort     int `name:"metrics-manager-port" required:"" help:"Metrics manager port (reported as the metrics source port)."`

	HeronInternalsConfigFile string `name:"heron-internals-config-file" default:"./heron-conf/heron_internals.yaml" help:"heron_internals.yaml."`
	OverrideConfigFile       string `name:"override-config-file" default:"./heron-conf/override.yaml" help:"override.yaml."`
	MetricsSinksConfigFile   string `name:"metrics-sinks-config-file" default:"./heron-conf/metrics_sinks.yaml" help:"metrics_sinks.yaml."`
	Cluster                  string `name:"cluster" help:"Cluster name."`
	Role                     string `name:"role" help:"Role."`
	Environment              string `name:"environment" help:"Environ."`
	ComponentRAMMap          string `name:"component-ram-map" help:"component:bytes,... (RAM per instance)."`
	TopologyBinaryFile       string `name:"topology-binary-file" help:"Topology binary (unused by native topologies)."`
	PkgType                  string `name:"pkg-type" help:"jar, tar, pex, so or dylib (unused by native topologies)."`

	TmanagerBinary               string `name:"tmanager-binary" help:"Heron core only."`
	StmgrBinary                  string `name:"stmgr-binary" help:"Heron core only."`
	MetricsManagerClasspath      string `name:"metrics-manager-classpath" help:"Heron core only."`
	InstanceJvmOpts              string `name:"instance-jvm-opts" help:"Heron core only (encoded JVM options)."`
	Classpath                    string `name:"classpath" help:"Heron core only."`
	ComponentJvmOpts             string `name:"component-jvm-opts" help:"Heron core only (encoded per-component JVM options)."`
	HeronJavaHome                string `name:"heron-java-home" help:"Heron core only."`
	VerboseGC                    bool   `name:"verbose-gc" help:"Heron core only."`
	HeronShellBinary             string `name:"heron-shell-binary" help:"Heron core only; heron-executor serves the shell itself."`
	InstanceClasspath            string `name:"instance-classpath" help:"Heron core only."`
	SchedulerClasspath           string `name:"scheduler-classpath" help:"Heron core only."`
	SchedulerPort                string `name:"scheduler-port" help:"Accepted and unused, as in Heron."`
	PythonInstanceBinary         string `name:"python-instance-binary" help:"Heron core only."`
	CppInstanceBinary            string `name:"cpp-instance-binary" help:"Heron core only."`
	MetricscacheManagerClasspath string `name:"metricscache-manager-classpath" help:"Heron core only."`
	MetricscacheManagerMode      string `name:"metricscache-manager-mode" default:"disabled" help:"Heron core only."`
	MetricscacheManagerServer    string `name:"metricscache-manager-server-port" help:"Heron core only."`
	MetricscacheManagerStats     string `name:"metricscache-manager-stats-port" help:"Heron core only."`
	IsStateful                   string `name:"is-stateful" help:"true for EFFECTIVELY_ONCE topologies (not supported natively)."`
	CheckpointManagerClasspath   string `name:"checkpoint-manager-classpath" help:"Heron core only."`
	CheckpointManagerPort        string `name:"checkpoint-manager-port" help:"Heron core only."`
	CheckpointManagerRAM         string `name:"checkpoint-manager-ram" help:"Heron core only."`
	StatefulConfigFile           string `name:"stateful-config-file" help:"Heron core only."`
	HealthManagerMode            string `name:"health-manager-mode" help:"Heron core only."`
	HealthManagerClasspath       string `name:"health-manager-classpath" help:"Heron core only."`
	JvmRemoteDebuggerPorts       string `name:"jvm-remote-debugger-ports" help:"Heron core only."`
}

// ParseArgs parses an executor command line (without the program name).
func ParseArgs(argv []string) (Args, error) {
	var a Args
	p, err := kong.New(&a, kong.Name("heron-executor"), kong.Exit(func(int) {}))
	if err != nil {
		return a, err
	}
	if _, err := p.Parse(argv); err != nil {
		return a, err
	}
	return a, a.Validate()
}

var errStateful = errors.New("--is-stateful=true: stateful (EFFECTIVELY_ONCE) topologies need Heron's core; the native runtime offers ATMOST_ONCE and ATLEAST_ONCE")

// Validate checks the values the native runtime relies on.
func (a Args) Validate() error {
	if a.Shard < 0 {
		return fmt.Errorf("--shard=%d: a container index is 0 or more", a.Shard)
	}
	for name, p := range map[string]int{"server-port": a.ServerPort, "tmanager-controller-port": a.TmanagerControllerPort,
		"tmanager-stats-port": a.TmanagerStatsPort, "shell-port": a.ShellPort, "metrics-manager-port": a.MetricsManagerPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("--%s=%d is not a TCP port", name, p)
		}
	}
	// Without a Heron core (no --tmanager-binary) a stateful topology cannot
	// run at all; with one, Run decides once it has read the topology.
	if strings.EqualFold(a.IsStateful, "true") && a.TmanagerBinary == "" {
		return errStateful
	}
	if _, err := ParseRAMMap(a.ComponentRAMMap); err != nil {
		return err
	}
	return nil
}

// StateManagerURI is the statemgr.Open URI of the flags: LOCALMODE means the
// local file system at the root, anything else a ZooKeeper host list.
func (a Args) StateManagerURI() string {
	conn := strings.Join(strings.Fields(a.StateManagerConnection), "")
	root := a.StateManagerRoot
	if conn == "LOCALMODE" || conn == "" {
		if strings.HasPrefix(root, "~") || strings.HasPrefix(root, "/") {
			return "file://" + root
		}
		return "file:///" + root
	}
	if !strings.HasPrefix(root, "/") {
		root = "/" + root
	}
	return "zk://" + conn + root
}

// DecodeJVMOpts decodes Heron's JVM-options encoding: base64 with '=' written
// as "(61)" (or the legacy "&equals;"), wrapped in double quotes.
func DecodeJVMOpts(s string) (string, error) {
	s = strings.Trim(s, `"`)
	s = strings.ReplaceAll(s, "(61)", "=")
	s = strings.ReplaceAll(s, "&equals;", "=")
	if s == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("JVM options %q are not Heron-encoded base64: %v", s, err)
	}
	return string(b), nil
}

// DecodeComponentJVMOpts decodes --component-jvm-opts: encoded JSON whose
// keys and values are themselves base64.
func DecodeComponentJVMOpts(s string) (map[string]string, error) {
	js, err := DecodeJVMOpts(s)
	if err != nil || js == "" {
		return map[string]string{}, err
	}
	var raw map[string]string
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		return nil, fmt.Errorf("component JVM options: %v", err)
	}
	out := map[string]string{}
	for k, v := range raw {
		kb, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return nil, fmt.Errorf("component JVM options key %q: %v", k, err)
		}
		vb, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("component JVM options value for %q: %v", kb, err)
		}
		if len(vb) > 0 {
			out[string(kb)] = string(vb)
		}
	}
	return out, nil
}

// ParseRAMMap parses --component-ram-map ("comp:bytes,comp:bytes").
func ParseRAMMap(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndexByte(part, ':')
		if i <= 0 {
			return nil, fmt.Errorf("--component-ram-map: %q is not component:bytes", part)
		}
		n, err := strconv.ParseInt(part[i+1:], 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--component-ram-map: %q is not component:bytes", part)
		}
		out[part[:i]] = n
	}
	return out, nil
}
