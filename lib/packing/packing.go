package packing

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/heronkit/heronkit/lib/config"
	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/proto/apipb"
	"github.com/heronkit/heronkit/lib/topology"
)

const (
	mib = int64(1) << 20
	gib = int64(1) << 30
)

// Heron's topology config keys that packing reads (org.apache.heron.api.Config).
const (
	KeyContainerCPU        = "topology.container.cpu"
	KeyContainerRAM        = "topology.container.ram"
	KeyContainerDisk       = "topology.container.disk"
	KeyContainerMaxInst    = "topology.container.max.instances"
	KeyPaddingPercentage   = "topology.container.padding.percentage"
	KeyContainerRAMPadding = "topology.container.ram.padding"
	KeyContainerCPUPadding = "topology.container.cpu.padding"
	KeyStmgrRAM            = "topology.stmgr.ram"
	KeyMetricsmgrRAM       = "topology.metricsmgr.ram"
	KeyCkptmgrRAM          = "topology.stateful.checkpointmanager.ram"
	KeyReliabilityMode     = "topology.reliability.mode"
	KeyFFDSorting          = "topology.packing.ffd.sorting.strategy"
	KeyStmgrs              = "topology.stmgrs"
)

// Options are the cluster-side inputs: the default instance size from
// heron.resources.instance.{cpu,ram,disk}.
type Options struct {
	InstanceCPU  float64
	InstanceRAM  int64
	InstanceDisk int64
}

// DefaultOptions are Heron's defaults: 1 core, 1 GiB RAM, 1 GiB disk.
func DefaultOptions() Options { return Options{1.0, gib, gib} }

// OptionsFrom reads the instance defaults from a cluster config.
func OptionsFrom(cfg *config.Config) (Options, error) {
	o := DefaultOptions()
	var err error
	if o.InstanceCPU, err = cfg.Float("heron.resources.instance.cpu", o.InstanceCPU); err != nil {
		return o, exitcode.Wrap(exitcode.Config, err)
	}
	if o.InstanceRAM, err = cfg.Int64("heron.resources.instance.ram", o.InstanceRAM); err != nil {
		return o, exitcode.Wrap(exitcode.Config, err)
	}
	if o.InstanceDisk, err = cfg.Int64("heron.resources.instance.disk", o.InstanceDisk); err != nil {
		return o, exitcode.Wrap(exitcode.Config, err)
	}
	return o, nil
}

// Packer is a packing algorithm (Heron's IPacking + IRepacking).
type Packer interface {
	// Pack computes the plan for a new topology.
	Pack(t *apipb.Topology) (*Plan, error)
	// Repack computes a new plan from the current one after the component
	// parallelism changes by deltas (new minus old). containers > 0 asks for
	// that many containers; 0 lets the algorithm decide.
	Repack(t *apipb.Topology, current *Plan, containers int, deltas map[string]int) (*Plan, error)
}

// Names lists the algorithms, by the short names config.ClassName returns.
var Names = []string{"ffd", "roundrobin"}

// New returns the algorithm with a short name ("roundrobin", "ffd"; Heron's
// class names are mapped to these by config.ClassName).
func New(name string, o Options) (Packer, error) {
	switch name {
	case "roundrobin":
		return &RoundRobin{o}, nil
	case "ffd":
		return &FirstFitDecreasing{o}, nil
	}
	return nil, exitcode.Errorf(exitcode.Config, "packing algorithm %q is not available (use one of %s)", name, strings.Join(Names, ", "))
}

// errPacking marks plans that cannot be made from the topology as given.
func errPacking(format string, args ...any) error {
	return exitcode.Errorf(exitcode.DataErr, "packing: "+format, args...)
}

// tconf reads typed topology config values with defaults, failing like
// Heron's parsers on malformed numbers.
type tconf struct {
	t   *apipb.Topology
	err error
}

func (c *tconf) str(key string) (string, bool) {
	v, ok := topology.ConfigValue(c.t, key)
	return strings.TrimSpace(v), ok
}

func (c *tconf) int64(key string, def int64) int64 {
	v, ok := c.str(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && c.err == nil {
		c.err = errPacking("topology config %s = %q is not a whole number", key, v)
	}
	return n
}

func (c *tconf) float(key string, def float64) float64 {
	v, ok := c.str(key)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && c.err == nil {
		c.err = errPacking("topology config %s = %q is not a number", key, v)
	}
	return f
}

// componentMap parses Heron's "comp:value,comp:value" maps, refusing unknown
// components as TopologyUtils.getComponentConfigMap does.
func (c *tconf) componentMap(key string, known []string) map[string]string {
	v, ok := c.str(key)
	out := map[string]string{}
	if !ok {
		return out
	}
	for _, tok := range strings.Split(v, ",") {
		if strings.TrimSpace(tok) == "" {
			continue
		}
		parts := strings.Split(tok, ":")
		if len(parts) != 2 {
			c.fail(errPacking("malformed %s entry %q; want component:value", key, tok))
			continue
		}
		if !slices.Contains(known, parts[0]) {
			c.fail(errPacking("%s names component %q, which the topology does not have", key, parts[0]))
			continue
		}
		out[parts[0]] = parts[1]
	}
	return out
}

func (c *tconf) bytesMap(key string, known []string) map[string]int64 {
	out := map[string]int64{}
	for k, v := range c.componentMap(key, known) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			c.fail(errPacking("%s: %s has %q, not a number of bytes", key, k, v))
		}
		out[k] = n
	}
	return out
}

func (c *tconf) floatMap(key string, known []string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range c.componentMap(key, known) {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			c.fail(errPacking("%s: %s has %q, not a number", key, k, v))
		}
		out[k] = f
	}
	return out
}

func (c *tconf) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// parallelism returns the components in Heron's HashMap order with counts.
func parallelism(t *apipb.Topology) ([]string, map[string]int, error) {
	pc, err := topology.Parallelism(t)
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(pc))
	counts := map[string]int{}
	for i, c := range pc {
		names[i] = c.Name
		counts[c.Name] = c.Count
	}
	return javaHashOrder(names), counts, nil
}

// NumContainers is topology.stmgrs, 1 when absent (Heron's getNumContainers).
func NumContainers(t *apipb.Topology) (int, error) {
	v, ok := topology.ConfigValue(t, KeyStmgrs)
	if !ok {
		return 1, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, errPacking("topology config %s = %q is not a whole number", KeyStmgrs, v)
	}
	return n, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// newCounts applies deltas to current counts, refusing unknown components
// and results below 1.
func newCounts(current map[string]int, deltas map[string]int) (map[string]int, error) {
	out := map[string]int{}
	for k, v := range current {
		out[k] = v
	}
	for k, d := range deltas {
		cur, ok := current[k]
		if !ok {
			return nil, exitcode.Errorf(exitcode.NotFound, "the topology has no component %q", k)
		}
		if cur+d < 1 {
			return nil, exitcode.Errorf(exitcode.DataErr, "component %q would have %d instances; the minimum is 1", k, cur+d)
		}
		out[k] = cur + d
	}
	return out, nil
}

func formatBytes(b int64) string {
	switch {
	case b%gib == 0:
		return fmt.Sprintf("%d GB", b/gib)
	case b%mib == 0:
		return fmt.Sprintf("%d MB", b/mib)
	}
	return fmt.Sprintf("%d bytes", b)
}
