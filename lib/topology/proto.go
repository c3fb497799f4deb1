package topology

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/heronkit/heronkit/lib/exitcode"
	"github.com/heronkit/heronkit/lib/native"
	"github.com/heronkit/heronkit/lib/proto/apipb"
)

// Helpers over any Topology proto, native or written by Heron's own API.

// ConfigValue returns a topology config value (the first with the key, as
// Heron's TopologyUtils reads it).
func ConfigValue(t *apipb.Topology, key string) (string, bool) {
	return kvValue(t.GetTopologyConfig(), key)
}

func kvValue(c *apipb.Config, key string) (string, bool) {
	for _, kv := range c.GetKvs() {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return "", false
}

// SetConfig sets a topology config value in place, replacing the first entry
// with the key or appending one.
func SetConfig(t *apipb.Topology, key, value string) {
	if t.TopologyConfig == nil {
		t.TopologyConfig = &apipb.Config{}
	}
	for _, kv := range t.TopologyConfig.Kvs {
		if kv.GetKey() == key {
			kv.Value = proto.String(value)
			kv.SerializedValue = nil
			kv.Type = apipb.ConfigValueType_STRING_VALUE.Enum()
			return
		}
	}
	t.TopologyConfig.Kvs = append(t.TopologyConfig.Kvs, stringKV(key, value))
}

// ComponentCount is a component and its instance count.
type ComponentCount struct {
	Name  string
	Count int
}

// Parallelism lists every component with its topology.component.parallelism,
// spouts first, in definition order (the order Heron fills its map in).
func Parallelism(t *apipb.Topology) ([]ComponentCount, error) {
	var out []ComponentCount
	add := func(c *apipb.Component) error {
		v, ok := kvValue(c.GetConfig(), native.KeyParallelism)
		if !ok {
			return exitcode.Errorf(exitcode.DataErr, "component %q has no %s in its config", c.GetName(), native.KeyParallelism)
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return exitcode.Errorf(exitcode.DataErr, "component %q: %s is %q; want a whole number >= 1", c.GetName(), native.KeyParallelism, v)
		}
		out = append(out, ComponentCount{c.GetName(), n})
		return nil
	}
	for _, s := range t.GetSpouts() {
		if err := add(s.GetComp()); err != nil {
			return nil, err
		}
	}
	for _, b := range t.GetBolts() {
		if err := add(b.GetComp()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetParallelism changes a component's parallelism in place.
func SetParallelism(t *apipb.Topology, component string, n int) error {
	var comps []*apipb.Component
	for _, s := range t.GetSpouts() {
		comps = append(comps, s.GetComp())
	}
	for _, b := range t.GetBolts() {
		comps = append(comps, b.GetComp())
	}
	for _, c := range comps {
		if c.GetName() != component {
			continue
		}
		for _, kv := range c.GetConfig().GetKvs() {
			if kv.GetKey() == native.KeyParallelism {
				kv.Value = proto.String(strconv.Itoa(n))
				return nil
			}
		}
		c.Config.Kvs = append(c.Config.Kvs, stringKV(native.KeyParallelism, strconv.Itoa(n)))
		return nil
	}
	return exitcode.Errorf(exitcode.NotFound, "topology %s has no component %q", t.GetName(), component)
}

// IsNative reports whether the topology runs as Unix commands (compiled from
// YAML) rather than on a Heron core.
func IsNative(t *apipb.Topology) bool {
	v, _ := ConfigValue(t, native.KeyNative)
	return strings.EqualFold(v, "true")
}

// Trimmed returns a copy without the components' serialized objects, which
// is what Heron's submitter stores under topologies/<name>.
func Trimmed(t *apipb.Topology) *apipb.Topology {
	c := proto.Clone(t).(*apipb.Topology)
	for _, s := range c.Spouts {
		s.GetComp().SerializedObject = nil
	}
	for _, b := range c.Bolts {
		b.GetComp().SerializedObject = nil
	}
	return c
}

// ReadDefn parses a serialized Topology (a .defn file's bytes) and checks
// what Heron's submitter checks: a name without '.' or '/', an id, and
// every bolt input naming a declared output stream.
func ReadDefn(name string, data []byte) (*apipb.Topology, error) {
	t := &apipb.Topology{}
	if err := proto.Unmarshal(data, t); err != nil {
		return nil, exitcode.Errorf(exitcode.DataErr, "cannot load topology definition %s: %v", name, err)
	}
	if err := Verify(t); err != nil {
		return nil, exitcode.Errorf(exitcode.DataErr, "topology definition %s: %v", name, err)
	}
	return t, nil
}

// Verify is Heron's TopologyUtils.verifyTopology plus a parallelism check.
func Verify(t *apipb.Topology) error {
	if t.GetName() == "" || strings.ContainsAny(t.GetName(), "./") {
		return fmt.Errorf("topology name %q is empty or has '.' or '/'", t.GetName())
	}
	if t.GetId() == "" {
		return fmt.Errorf("topology %s has no id", t.GetName())
	}
	out := map[string]bool{}
	for _, s := range t.GetSpouts() {
		for _, o := range s.GetOutputs() {
			out[o.GetStream().GetComponentName()+"/"+o.GetStream().GetId()] = true
		}
	}
	for _, b := range t.GetBolts() {
		for _, o := range b.GetOutputs() {
			out[o.GetStream().GetComponentName()+"/"+o.GetStream().GetId()] = true
		}
	}
	for _, b := range t.GetBolts() {
		for _, in := range b.GetInputs() {
			k := in.GetStream().GetComponentName() + "/" + in.GetStream().GetId()
			if !out[k] {
				return fmt.Errorf("bolt %s reads stream %s, which no component declares", b.GetComp().GetName(), k)
			}
		}
	}
	_, err := Parallelism(t)
	return err
}
